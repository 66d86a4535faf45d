{{- define "kubetags.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- define "kubetags.selector" -}}
app.kubernetes.io/name: kubetags
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
{{- define "kubetags.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/part-of: sightline
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{ include "kubetags.selector" . }}
{{- end -}}
{{- define "kubetags.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "kubetags.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}
{{- define "kubetags.tokenSecret" -}}
{{- if .Values.token.existingSecret -}}{{ .Values.token.existingSecret }}
{{- else -}}{{ include "kubetags.fullname" . }}-token
{{- end -}}
{{- end -}}
{{/* the agent's config file (services/kubetags/src/config.ts) */}}
{{- define "kubetags.config" -}}
{{- $backend := dict "url" .Values.backend.url "tenant" .Values.backend.tenant "tokenFile" "/var/run/sightline/token/token" "timeoutMs" (int .Values.backend.timeoutMs) -}}
{{- if .Values.backend.ca -}}{{- $_ := set $backend "caFile" "/etc/kubetags/ca/ca.crt" -}}{{- end -}}
{{- $c := dict "cluster" .Values.cluster "backend" $backend "http" (dict "host" "0.0.0.0" "port" (int .Values.port)) "logLevel" .Values.logLevel -}}
{{- if not (kindIs "invalid" .Values.labelAllowList) -}}{{- $_ := set $c "labelAllowList" .Values.labelAllowList -}}{{- end -}}
{{- mustMergeOverwrite $c (deepCopy .Values.config) | toPrettyJson -}}
{{- end -}}
