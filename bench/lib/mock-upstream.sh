# Sourced by the load benchmarks: the mock of an OpenAI-compatible upstream (nginx answering every
# POST with one fixed chat completion, so the upstream costs next to nothing) and a readiness wait.

# wrk, nginx and bc from Debian's packages, when missing.
ensure_load_tools() {
  if ! command -v wrk >/dev/null || ! command -v nginx >/dev/null || ! command -v bc >/dev/null; then
    apt-get update -qq && apt-get install -y -qq wrk nginx-light bc >/dev/null
  fi
}

# start_mock_upstream WORK_DIR PORT: nginx in the background, its pid in WORK_DIR/nginx.pid.
start_mock_upstream() {
  local work=$1 port=$2
  local answer='{"id":"chatcmpl-mock","object":"chat.completion","created":1767225600,"model":"mock","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! How can I help you today?"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":9,"total_tokens":18}}'
  cat > "$work/nginx.conf" <<CONF
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  server {
    listen 127.0.0.1:$port;
    keepalive_requests 1000000;
    location / { default_type application/json; return 200 '$answer'; }
  }
}
CONF
  nginx -c "$work/nginx.conf" -p "$work" -e "$work/nginx-error.log"
}

wait_for() {  # url
  for _ in $(seq 1 600); do curl -fs -o /dev/null "$1" && return 0; sleep 0.1; done
  echo "timed out waiting for $1" >&2; return 1
}
