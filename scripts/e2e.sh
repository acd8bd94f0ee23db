#!/usr/bin/env bash
# Smoke test in a real AWS account: `make e2e STACK=name`. Never run by CI (it needs credentials
# and costs money).
#
# Creates the throwaway stack STACK as dev phase 1 (after printing what it costs), previews it
# with the policy pack, deploys it, waits for the API's health path through CloudFront and
# through the load balancer, then destroys the stack and removes it. A trap destroys and removes
# the stack on any failure or interrupt, so nothing is left running once the script ends.
#
# Needs: the Pulumi CLI logged in to a backend (`pulumi login`), AWS credentials that can create
# the stack's resources, curl, and venv/ (`make e2e` builds it).
# Environment: STACK (or the first argument), AWS_REGION (default us-east-1), E2E_YES=1 to skip
# the confirmation, HEALTH_ATTEMPTS and HEALTH_DELAY (seconds) for the health checks, PY.
set -euo pipefail
cd "$(dirname "$0")/.."

STACK="${1:-${STACK:-}}"
REGION="${AWS_REGION:-us-east-1}"
PY="${PY:-venv/bin/python}"
# 30 checks 20 s apart: instances boot, pull the image and pass two health checks (catalog
# api.health_check) well within 10 minutes.
HEALTH_ATTEMPTS="${HEALTH_ATTEMPTS:-30}"
HEALTH_DELAY="${HEALTH_DELAY:-20}"

if [ -z "$STACK" ]; then
  echo "usage: make e2e STACK=<throwaway stack name>" >&2
  exit 2
fi
# A stack file in the project is a real stack (dev, prod, ...): never deploy over it, never destroy it.
if [ -e "Pulumi.$STACK.yaml" ]; then
  echo "e2e: Pulumi.$STACK.yaml exists; pick a throwaway stack name" >&2
  exit 2
fi

# The estimate is the phase catalog's budget for phase 1 (launch); a month is 730 hours, the
# month AWS's pricing pages use for monthly prices.
# One read of the catalog: the budget and the health check path.
read -r monthly health_path < <("$PY" -c 'from phases.catalog import load_phase
launch = load_phase(1)
print(launch.budget.monthly_usd, launch.api.health_check.path)')
hourly=$(awk -v monthly="$monthly" 'BEGIN { printf "%.2f", monthly / 730 }')
cat <<EOF
e2e: stack $STACK, dev profile, phase 1 (launch), region $REGION.
Estimated cost while it runs: ~\$$monthly/month, about \$$hourly per hour (phase catalog budget).
A run takes 30-60 minutes (CloudFront and RDS take longest); the stack is destroyed at the end.
EOF
if [ "${E2E_YES:-}" != 1 ]; then
  if [ ! -t 0 ]; then
    echo "e2e: not a terminal; set E2E_YES=1 to accept the cost" >&2
    exit 2
  fi
  read -r -p "Deploy it? [y/N] " answer
  case "$answer" in
    y | Y | yes) ;;
    *) echo "e2e: nothing deployed"; exit 1 ;;
  esac
fi

created=false
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [ "$created" = true ]; then
    echo "e2e: destroying stack $STACK"
    if pulumi destroy --stack "$STACK" --yes --non-interactive --skip-preview; then
      pulumi stack rm "$STACK" --yes --non-interactive || status=1
    else
      echo "e2e: destroy failed; resources of stack $STACK may still run: pulumi destroy --stack $STACK" >&2
      status=1
    fi
  fi
  exit "$status"
}
trap cleanup EXIT
# An interrupt or termination ends the script through the EXIT trap, which destroys the stack.
trap 'exit 130' INT
trap 'exit 143' TERM

wait_for_health() {
  local what=$1 url=$2 attempt
  for ((attempt = 1; attempt <= HEALTH_ATTEMPTS; attempt++)); do
    if curl --fail --silent --show-error --max-time 10 --output /dev/null "$url"; then
      echo "e2e: $what answers $url"
      return 0
    fi
    echo "e2e: $what not healthy yet ($attempt/$HEALTH_ATTEMPTS)"
    sleep "$HEALTH_DELAY"
  done
  echo "e2e: $what did not answer $url after $HEALTH_ATTEMPTS attempts" >&2
  return 1
}

pulumi stack init "$STACK" --non-interactive
created=true
pulumi config set --stack "$STACK" aws:region "$REGION"
pulumi config set --stack "$STACK" qnom:phase 1
pulumi config set --stack "$STACK" qnom:environment dev

pulumi preview --stack "$STACK" --policy-pack policy --non-interactive --diff
pulumi up --stack "$STACK" --policy-pack policy --yes --non-interactive --skip-preview

cdn=$(pulumi stack output --stack "$STACK" cdnDomainName)
alb=$(pulumi stack output --stack "$STACK" albDnsName)
# Without qnom:domain the load balancer listens on plain HTTP 80; CloudFront serves HTTPS.
wait_for_health "CloudFront" "https://$cdn$health_path"
wait_for_health "the load balancer" "http://$alb$health_path"
echo "e2e: stack $STACK is healthy"
