#!/bin/bash
# Boot script of a QNom API instance (Amazon Linux 2023), rendered by the ApiTier component.
# Runs the API container {{ image }} as a systemd service on port {{ port }}. The load
# balancer's health check calls {{ health_path }} on that port, which the API serves itself.
# Configuration comes at every (re)start from the Parameter Store path {{ config_path }} and
# from Secrets Manager (names in components/app_config.py); no value is written in this script.
set -euo pipefail
install -d -m 0755 /opt/qnom

# Bounded retries with exponential backoff (2 s doubling to 60 s, 8 attempts): the NAT route,
# the package mirror, the registry or a just-created IAM grant may lag behind the boot.
cat > /opt/qnom/retry.sh <<'SCRIPT'
retry() {
  local attempt=1 delay=2
  until "$@"; do
    if (( attempt >= 8 )); then
      echo "giving up after $attempt attempts: $*" >&2
      return 1
    fi
    echo "attempt $attempt failed, retrying in ${delay}s: $*" >&2
    sleep "$delay"
    attempt=$(( attempt + 1 ))
    delay=$(( delay * 2 > 60 ? 60 : delay * 2 ))
  done
}
SCRIPT
source /opt/qnom/retry.sh

retry dnf install -y docker jq
systemctl enable --now docker

# Memory use is not an EC2 metric: the CloudWatch agent publishes it (CWAgent mem_used_percent),
# aggregated by Auto Scaling group, which the memory alarms watch (components/observability/
# monitoring.py). The group name comes from the instance's tags (the instance role may describe them).
retry dnf install -y amazon-cloudwatch-agent
install -d -m 0755 /opt/aws/amazon-cloudwatch-agent/etc
cat > /opt/aws/amazon-cloudwatch-agent/etc/qnom-memory.json <<'JSON'
{
  "agent": {"metrics_collection_interval": 60},
  "metrics": {
    "namespace": "CWAgent",
    "append_dimensions": {"AutoScalingGroupName": "${aws:AutoScalingGroupName}", "InstanceId": "${aws:InstanceId}"},
    "aggregation_dimensions": [["AutoScalingGroupName"]],
    "metrics_collected": {"mem": {"measurement": ["mem_used_percent"], "metrics_collection_interval": 60}}
  }
}
JSON
retry /opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s \
  -c file:/opt/aws/amazon-cloudwatch-agent/etc/qnom-memory.json

# Runs before every (re)start of the service: fresh configuration, secrets and registry login.
cat > /opt/qnom/api-env.sh <<'SCRIPT'
#!/bin/bash
set -euo pipefail
umask 077
source /opt/qnom/retry.sh
region='{{ region }}'
# /run is tmpfs: the secrets never reach the disk.
install -d -m 0700 /run/qnom
retry aws ssm get-parameters-by-path --region "$region" --path '{{ config_path }}' \
  --query 'Parameters[].[Name,Value]' --output text > /run/qnom/parameters.tsv
declare -A config
while IFS=$'\t' read -r name value; do
  config["${name##*/}"]="$value"
done < /run/qnom/parameters.tsv
for key in DB_SECRET_ID REDIS_AUTH_SECRET_ID DB_WRITE_HOST REDIS_HOST; do
  [[ -n "${config[$key]:-}" ]] || { echo "$key is missing under {{ config_path }}" >&2; exit 1; }
done
retry aws secretsmanager get-secret-value --region "$region" --secret-id "${config[DB_SECRET_ID]}" \
  --query SecretString --output text > /run/qnom/db.json
retry aws secretsmanager get-secret-value --region "$region" --secret-id "${config[REDIS_AUTH_SECRET_ID]}" \
  --query SecretString --output text > /run/qnom/redis-auth
retry aws secretsmanager get-secret-value --region "$region" --secret-id '{{ session_secret_id }}' \
  --query SecretString --output text > /run/qnom/session-secret
{
  printf 'PORT=%s\nHEALTH_PATH=%s\nAWS_REGION=%s\n' '{{ port }}' '{{ health_path }}' "$region"
  for key in "${!config[@]}"; do
    # Secret names stay on the host; the container gets the values below.
    [[ "$key" == *_SECRET_ID ]] || printf '%s=%s\n' "$key" "${config[$key]}"
  done
  printf 'DB_USER=%s\n' "$(jq -r .username /run/qnom/db.json)"
  printf 'DB_PASSWORD=%s\n' "$(jq -r .password /run/qnom/db.json)"
  printf 'REDIS_AUTH_TOKEN=%s\n' "$(cat /run/qnom/redis-auth)"
  printf 'SESSION_SECRET=%s\n' "$(cat /run/qnom/session-secret)"
} > /run/qnom/api.env
rm -f /run/qnom/db.json /run/qnom/redis-auth /run/qnom/session-secret
registry='{{ registry }}'
# Only a private ECR registry needs a login; its region is the fourth label of the host.
if [[ "$registry" =~ ^[0-9]{12}\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com$ ]]; then
  login() {
    aws ecr get-login-password --region "${BASH_REMATCH[1]}" \
      | docker login --username AWS --password-stdin "$registry"
  }
  retry login
fi
retry docker pull '{{ image }}'
SCRIPT
chmod 0700 /opt/qnom/api-env.sh

cat > /etc/systemd/system/qnom-api.service <<'UNIT'
[Unit]
Description=QNom API container
Requires=docker.service
After=docker.service network-online.target
Wants=network-online.target
# Restart for as long as it takes: each start already retries with backoff.
StartLimitIntervalSec=0

[Service]
Restart=always
RestartSec=5
TimeoutStartSec=900
ExecStartPre=/opt/qnom/api-env.sh
ExecStartPre=-/usr/bin/docker rm -f qnom-api
ExecStart=/usr/bin/docker run --rm --name qnom-api --log-driver journald --env-file /run/qnom/api.env -p {{ port }}:{{ port }} '{{ image }}'
ExecStop=/usr/bin/docker stop --time 60 qnom-api

[Install]
WantedBy=multi-user.target
UNIT

systemctl daemon-reload
systemctl enable qnom-api.service
# No waiting here: the unit retries on its own until the image pulls and the API starts.
systemctl start --no-block qnom-api.service
