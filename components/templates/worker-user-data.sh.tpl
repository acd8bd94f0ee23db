#!/bin/bash
# Boot script of a QNom queue worker (Amazon Linux 2023), rendered by the Workers component.
# Runs the container {{ image }} with the command "{{ command }}" as a systemd service; it
# consumes the SQS queue {{ queue_url }}. Nothing listens for inbound traffic.
set -euo pipefail

dnf install -y docker
systemctl enable --now docker
install -d -m 0755 /opt/qnom

cat > /opt/qnom/worker-env.sh <<'SCRIPT'
#!/bin/bash
set -euo pipefail
umask 077
install -d -m 0700 /run/qnom
printf 'QUEUE_URL=%s\nAWS_REGION=%s\n' '{{ queue_url }}' '{{ region }}' > /run/qnom/worker.env
registry='{{ registry }}'
# Only a private ECR registry needs a login; its region is the fourth label of the host.
if [[ "$registry" =~ ^[0-9]{12}\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com$ ]]; then
  aws ecr get-login-password --region "${BASH_REMATCH[1]}" \
    | docker login --username AWS --password-stdin "$registry"
fi
SCRIPT
chmod 0700 /opt/qnom/worker-env.sh

cat > /etc/systemd/system/qnom-worker.service <<'UNIT'
[Unit]
Description=QNom queue worker container
Requires=docker.service
After=docker.service network-online.target
Wants=network-online.target

[Service]
Restart=always
RestartSec=5
TimeoutStartSec=600
ExecStartPre=/opt/qnom/worker-env.sh
ExecStartPre=-/usr/bin/docker rm -f qnom-worker
ExecStartPre=/usr/bin/docker pull '{{ image }}'
ExecStart=/usr/bin/docker run --rm --name qnom-worker --log-driver journald --env-file /run/qnom/worker.env '{{ image }}' {{ command }}
# A spot interruption notice gives two minutes: let the current message finish.
ExecStop=/usr/bin/docker stop --time 90 qnom-worker

[Install]
WantedBy=multi-user.target
UNIT

systemctl daemon-reload
systemctl enable qnom-worker.service
systemctl start --no-block qnom-worker.service
