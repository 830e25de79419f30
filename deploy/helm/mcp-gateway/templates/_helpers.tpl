{{- define "mcp-gateway.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "mcp-gateway.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "mcp-gateway.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mcp-gateway.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "mcp-gateway.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "mcp-gateway.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "mcp-gateway.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "mcp-gateway.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The port the gateway listens on: config.server.port (the schema's default is 8080). */}}
{{- define "mcp-gateway.port" -}}
{{- dig "server" "port" 8080 .Values.config | int -}}
{{- end -}}

{{/* The store section, built from .Values.redis. */}}
{{- define "mcp-gateway.store" -}}
{{- $redis := .Values.redis -}}
{{- if eq $redis.mode "url" -}}
{{- dict "driver" "redis" "url" "${REDIS_URL}" | toYaml -}}
{{- else if eq $redis.mode "sentinel" -}}
{{- if not $redis.sentinel.sentinels -}}{{- fail "redis.sentinel.sentinels must list at least one sentinel" -}}{{- end -}}
{{- $sentinel := dict "name" $redis.sentinel.name "sentinels" $redis.sentinel.sentinels -}}
{{- $store := dict "driver" "redis" "sentinel" $sentinel -}}
{{- if $redis.password.secretName -}}
{{- $_ := set $sentinel "password" "${REDIS_PASSWORD}" -}}
{{- $_ := set $store "password" "${REDIS_PASSWORD}" -}}
{{- end -}}
{{- toYaml $store -}}
{{- else if eq $redis.mode "cluster" -}}
{{- if not $redis.cluster.nodes -}}{{- fail "redis.cluster.nodes must list at least one seed node" -}}{{- end -}}
{{- $store := dict "driver" "redis" "cluster" (dict "nodes" $redis.cluster.nodes) -}}
{{- if $redis.password.secretName -}}{{- $_ := set $store "password" "${REDIS_PASSWORD}" -}}{{- end -}}
{{- toYaml $store -}}
{{- else -}}
{{- fail (printf "redis.mode must be url, sentinel or cluster, not %q" $redis.mode) -}}
{{- end -}}
{{- end -}}

{{/* The gateway's config file: .Values.config with the store section. */}}
{{- define "mcp-gateway.config" -}}
{{- $config := deepCopy .Values.config -}}
{{- if hasKey $config "store" -}}{{- fail "set the store through .Values.redis, not config.store" -}}{{- end -}}
{{- $_ := set $config "store" (include "mcp-gateway.store" . | fromYaml) -}}
{{- toYaml $config -}}
{{- end -}}

{{/* Pod termination budget: longer than shutdown.graceMs (the schema's default is 25000) plus the preStop pause. */}}
{{- define "mcp-gateway.terminationGracePeriodSeconds" -}}
{{- $graceMs := dig "shutdown" "graceMs" 25000 .Values.config | int -}}
{{- $minimum := add (div (add $graceMs 999) 1000) (int .Values.preStopSeconds) 10 -}}
{{- if kindIs "invalid" .Values.terminationGracePeriodSeconds -}}
{{- $minimum -}}
{{- else if lt (int .Values.terminationGracePeriodSeconds) (int $minimum) -}}
{{- fail (printf "terminationGracePeriodSeconds must be at least %d (shutdown.graceMs + preStopSeconds + 10 s)" (int $minimum)) -}}
{{- else -}}
{{- .Values.terminationGracePeriodSeconds | int -}}
{{- end -}}
{{- end -}}
