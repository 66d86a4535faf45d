#!/usr/bin/env bash
# Local real services for development and tests, as native processes on 127.0.0.1.
#   infra.sh up|down|status [SERVICE...]      (no SERVICE = all, in dependency order)
# Each service is infra/local/services/NAME.sh implementing the functions
#   NAME_up, NAME_down, NAME_status  (status prints "NAME ADDRESS up|down" and returns 0 when it answers)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$HERE/lib.sh"

ALL_SERVICES=(kafka clickhouse moto fakegcs azurite kubernetes)
# started only when named (`infra.sh up clickhouse-cluster`): the cluster tests and benchmark need it
EXTRA_SERVICES=(clickhouse-cluster)

cmd="${1:-status}"; shift || true
services=("$@"); [ ${#services[@]} -eq 0 ] && services=("${ALL_SERVICES[@]}")

for s in "${services[@]}"; do
  f="$HERE/services/$s.sh"
  [ -f "$f" ] || { echo "infra: unknown service '$s' (known: ${ALL_SERVICES[*]} ${EXTRA_SERVICES[*]})" >&2; exit 2; }
  # shellcheck disable=SC1090
  source "$f"
done

rc=0
case "$cmd" in
  up)
    for s in "${services[@]}"; do
      t0=$(date +%s)
      if "${s}_up"; then log "$s up ($(( $(date +%s) - t0 ))s)"; else log "$s FAILED to start"; rc=1; fi
    done ;;
  down)
    for (( i=${#services[@]}-1; i>=0; i-- )); do "${services[$i]}_down" || rc=1; done ;;
  status)
    for s in "${services[@]}"; do "${s}_status" || rc=1; done ;;
  *) echo "usage: infra.sh up|down|status [SERVICE...]" >&2; exit 2 ;;
esac
exit $rc
