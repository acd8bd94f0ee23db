#!/bin/bash
# Boot script of a QNom API instance (Amazon Linux 2023), rendered by the ApiTier component.
# Runs the API container {{ image }} as a systemd service on port {{ port }}. The load
# balancer's health check calls {{ health_path }} on that port, which the API serves itself.
set -euo pipefail

dnf install -y docker
systemctl enable --now docker
install -d -m 0755 /opt/qnom

# Runs before every (re)start of the service: fresh secret, fresh registry login.
cat > /opt/qnom/api-env.sh <<'SCRIPT'
#!/bin/bash
set -euo pipefail
umask 077
# /run is tmpfs: the session secret never reaches the disk.
install -d -m 0700 /run/qnom
secret=$(aws secretsmanager get-secret-value --region '{{ region }}' \
  --secret-id '{{ session_secret_id }}' --query SecretString --output text)
printf 'PORT=%s\nHEALTH_PATH=%s\nAWS_REGION=%s\nSESSION_SECRET=%s\n' \
  '{{ port }}' '{{ health_path }}' '{{ region }}' "$secret" > /run/qnom/api.env
registry='{{ registry }}'
# Only a private ECR registry needs a login; its region is the fourth label of the host.
if [[ "$registry" =~ ^[0-9]{12}\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com$ ]]; then
  aws ecr get-login-password --region "${BASH_REMATCH[1]}" \
    | docker login --username AWS --password-stdin "$registry"
fi
SCRIPT
chmod 0700 /opt/qnom/api-env.sh

cat > /etc/systemd/system/qnom-api.service <<'UNIT'
[Unit]
Description=QNom API container
Requires=docker.service
After=docker.service network-online.target
Wants=network-online.target

[Service]
Restart=always
RestartSec=5
TimeoutStartSec=600
ExecStartPre=/opt/qnom/api-env.sh
ExecStartPre=-/usr/bin/docker rm -f qnom-api
ExecStartPre=/usr/bin/docker pull '{{ image }}'
ExecStart=/usr/bin/docker run --rm --name qnom-api --log-driver journald --env-file /run/qnom/api.env -p {{ port }}:{{ port }} '{{ image }}'
ExecStop=/usr/bin/docker stop --time 60 qnom-api

[Install]
WantedBy=multi-user.target
UNIT

systemctl daemon-reload
systemctl enable qnom-api.service
# No waiting here: the unit retries on its own until the image pulls and the API starts.
systemctl start --no-block qnom-api.service
