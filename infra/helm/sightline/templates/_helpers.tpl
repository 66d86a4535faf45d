{{- define "sightline.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* labels of every object; with the selector labels below for a service's own objects */}}
{{- define "sightline.commonLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/part-of: sightline
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}
{{- define "sightline.labels" -}}
{{ include "sightline.commonLabels" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* selector labels of one service: (dict "root" $ "svc" "collector") */}}
{{- define "sightline.selector" -}}
app.kubernetes.io/name: sightline-{{ .svc }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{- define "sightline.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "sightline.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "sightline.image" -}}
{{- $repo := .repository -}}
{{- if .registry -}}{{- $repo = printf "%s/%s" .registry .repository -}}{{- end -}}
{{- printf "%s:%s" $repo .tag -}}
{{- end -}}

{{/* Secrets: names of the ones mounted, empty when there is none */}}
{{- define "sightline.kafkaSecret" -}}
{{- if .Values.kafka.credentials.existingSecret -}}{{ .Values.kafka.credentials.existingSecret }}
{{- else if .Values.kafka.credentials.files -}}{{ include "sightline.fullname" . }}-kafka
{{- end -}}
{{- end -}}
{{- define "sightline.clickhouseSecret" -}}
{{- if .Values.clickhouse.existingSecret -}}{{ .Values.clickhouse.existingSecret }}
{{- else if .Values.clickhouse.password -}}{{ include "sightline.fullname" . }}-clickhouse
{{- end -}}
{{- end -}}
{{- define "sightline.tokensSecret" -}}
{{- default (printf "%s-api-tokens" (include "sightline.fullname" .)) .Values.api.tokens.existingSecret -}}
{{- end -}}

{{/* The shared kafka section (packages/bus kafka-config.ts): files are the credentials Secret's keys under its mount. */}}
{{- define "sightline.kafkaConfig" -}}
{{- $k := dict "brokers" .Values.kafka.brokers "topicPrefix" .Values.kafka.topicPrefix -}}
{{- $dir := "/etc/sightline/kafka" -}}
{{- with .Values.kafka.tls -}}{{- if .enabled -}}
{{- $ssl := dict -}}
{{- if .caKey -}}{{- $_ := set $ssl "caFile" (printf "%s/%s" $dir .caKey) -}}{{- end -}}
{{- if .certKey -}}{{- $_ := set $ssl "certFile" (printf "%s/%s" $dir .certKey) -}}{{- $_ := set $ssl "keyFile" (printf "%s/%s" $dir (required "kafka.tls.keyKey goes with kafka.tls.certKey" .keyKey)) -}}{{- end -}}
{{- if .servername -}}{{- $_ := set $ssl "servername" .servername -}}{{- end -}}
{{- $_ := set $k "ssl" $ssl -}}
{{- end -}}{{- end -}}
{{- with .Values.kafka.sasl -}}{{- if .mechanism -}}
{{- if eq .mechanism "aws-msk-iam" -}}
{{- $_ := set $k "sasl" (dict "mechanism" .mechanism "region" (required "kafka.sasl.region is needed for aws-msk-iam" .region)) -}}
{{- else -}}
{{- $_ := set $k "sasl" (dict "mechanism" .mechanism "username" (required "kafka.sasl.username is needed" .username) "passwordFile" (printf "%s/%s" $dir .passwordKey)) -}}
{{- end -}}
{{- end -}}{{- end -}}
{{- $k | toJson -}}
{{- end -}}

{{/* Each service's config file, JSON, only keys its schema accepts (services/<svc>/src/config.ts). */}}
{{- define "sightline.collectorConfig" -}}
{{- $c := dict "kafka" (include "sightline.kafkaConfig" . | fromJson) "http" (dict "host" "0.0.0.0" "port" (int .Values.collector.port)) "sources" .Values.collector.sources -}}
{{- if .Values.collector.settings -}}{{- $_ := set $c "collector" (deepCopy .Values.collector.settings) -}}{{- end -}}
{{- mustMergeOverwrite $c (deepCopy .Values.collector.config) | toPrettyJson -}}
{{- end -}}

{{- define "sightline.enricherConfig" -}}
{{- $store := dict "engine" "clickhouse" "url" .Values.clickhouse.url "database" .Values.clickhouse.database "username" .Values.clickhouse.username -}}
{{- if not (kindIs "invalid" .Values.clickhouse.lowCardinality) -}}{{- $_ := set $store "lowCardinality" .Values.clickhouse.lowCardinality -}}{{- end -}}
{{- $c := dict "kafka" (include "sightline.kafkaConfig" . | fromJson) "store" $store "http" (dict "host" "0.0.0.0" "port" (int .Values.enricher.port)) -}}
{{- if .Values.enricher.settings -}}{{- $_ := set $c "enricher" (deepCopy .Values.enricher.settings) -}}{{- end -}}
{{- if .Values.enricher.retention -}}{{- $_ := set $c "retention" (deepCopy .Values.enricher.retention) -}}{{- end -}}
{{- mustMergeOverwrite $c (deepCopy .Values.enricher.config) | toPrettyJson -}}
{{- end -}}

{{- define "sightline.apiConfig" -}}
{{- $c := dict "listen" (dict "host" "0.0.0.0" "port" (int .Values.api.port)) "metrics" (dict "host" "0.0.0.0" "port" (int .Values.api.metricsPort)) "tokensFile" "/etc/sightline/tokens/api-tokens.json" "kafka" (include "sightline.kafkaConfig" . | fromJson) "logLevel" .Values.api.logLevel -}}
{{- if .Values.api.tls.enabled -}}{{- $_ := set $c "tls" (dict "certFile" "/etc/sightline/tls/tls.crt" "keyFile" "/etc/sightline/tls/tls.key") -}}{{- end -}}
{{- if .Values.api.query -}}
{{- $store := dict "engine" "clickhouse" "url" .Values.clickhouse.url "database" .Values.clickhouse.database "username" .Values.clickhouse.username -}}
{{- if include "sightline.clickhouseSecret" . -}}{{- $_ := set $store "passwordFile" "/etc/sightline/clickhouse/password" -}}{{- end -}}
{{- $_ := set $c "query" (dict "store" $store) -}}
{{- end -}}
{{- mustMergeOverwrite $c (deepCopy .Values.api.config) | toPrettyJson -}}
{{- end -}}
