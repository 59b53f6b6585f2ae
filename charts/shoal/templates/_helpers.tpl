{{/* Names, labels and shared pieces of the Shoal chart. */}}

{{- define "shoal.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The full name: prefixes every resource and the PKI Secrets (SHOAL_PKI_PREFIX). */}}
{{- define "shoal.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "shoal.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The image tag: image.tag, else the chart's appVersion (= package.json "version"); never latest. */}}
{{- define "shoal.imageTag" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag | toString -}}
{{- if or (eq $tag "latest") (eq $tag "") -}}
{{- fail "image.tag must name a Shoal version (e.g. 0.1.0), not latest" -}}
{{- end -}}
{{- $tag -}}
{{- end -}}

{{- define "shoal.image" -}}
{{- printf "%s:%s" .Values.image.repository (include "shoal.imageTag" .) -}}
{{- end -}}

{{/* Labels of every object; call with (dict "ctx" $ "component" "kvpod"). */}}
{{- define "shoal.labels" -}}
app.kubernetes.io/name: {{ include "shoal.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/version: {{ include "shoal.imageTag" .ctx | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
helm.sh/chart: {{ include "shoal.chart" .ctx }}
shoal.dev/component: {{ .component }}
{{- end -}}

{{/* Selector labels of a component (not the SQL pod pool: its selector is fixed by the design brief). */}}
{{- define "shoal.selectorLabels" -}}
app.kubernetes.io/name: {{ include "shoal.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
shoal.dev/component: {{ .component }}
{{- end -}}

{{/* Resource names. */}}
{{- define "shoal.operatorName" -}}{{ include "shoal.fullname" . }}-operator{{- end -}}
{{- define "shoal.kvpodName" -}}{{ include "shoal.fullname" . }}-kvpod{{- end -}}
{{- define "shoal.poolName" -}}{{ include "shoal.fullname" . }}-sqlpod-pool{{- end -}}
{{- define "shoal.proxyName" -}}{{ include "shoal.fullname" . }}-proxy{{- end -}}

{{/* The PKI Secrets (the operator creates them when absent, or cert-manager does). */}}
{{- define "shoal.caSecret" -}}{{ include "shoal.fullname" . }}-ca{{- end -}}
{{- define "shoal.kvpodCertSecret" -}}{{ include "shoal.fullname" . }}-kvpod-certs{{- end -}}
{{- define "shoal.proxyCertSecret" -}}{{ include "shoal.fullname" . }}-proxy-certs{{- end -}}
{{- define "shoal.poolCertSecret" -}}{{ include "shoal.fullname" . }}-pool-certs{{- end -}}

{{/* host:port of kvpod i, as it advertises itself: <sts>-<i>.<headless svc>.<ns>.svc:<port>. */}}
{{- define "shoal.kvpodAddresses" -}}
{{- $addrs := list -}}
{{- range $i := until (int .Values.kvpod.replicas) -}}
{{- $addrs = append $addrs (printf "%s-%d.%s.%s.svc:%d" (include "shoal.kvpodName" $) $i (include "shoal.kvpodName" $) $.Release.Namespace (int $.Values.kvpod.port)) -}}
{{- end -}}
{{- join "," $addrs -}}
{{- end -}}

{{/* DNS names and IPs of the kvpod certificate, as a list (JSON). */}}
{{- define "shoal.kvpodHosts" -}}
{{- $svc := include "shoal.kvpodName" . -}}
{{- $ns := .Release.Namespace -}}
{{- list (printf "*.%s.%s.svc" $svc $ns) (printf "*.%s.%s.svc.%s" $svc $ns .Values.clusterDomain) $svc "localhost" "127.0.0.1" | toJson -}}
{{- end -}}

{{/* DNS names and IPs of the proxy certificate, as a list (JSON). */}}
{{- define "shoal.proxyHosts" -}}
{{- $svc := include "shoal.proxyName" . -}}
{{- $ns := .Release.Namespace -}}
{{- concat (list $svc (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.%s" $svc $ns .Values.clusterDomain) "localhost" "127.0.0.1") .Values.proxy.extraHosts | uniq | toJson -}}
{{- end -}}

{{/* DNS names and IPs of the pool (control endpoint) certificate, as a list (JSON): the default hosts of shared/certs. */}}
{{- define "shoal.poolHosts" -}}
{{- list "localhost" "127.0.0.1" | toJson -}}
{{- end -}}

{{/* A duration such as 90s, 10m, 1h, 250ms or 0, in whole seconds (rounded up). */}}
{{- define "shoal.durationSeconds" -}}
{{- $s := toString . -}}
{{- $n := regexFind "^[0-9]+" $s -}}
{{- if eq $n "" -}}{{- fail (printf "%q is not a duration like 90s, 10m or 1h" $s) -}}{{- end -}}
{{- $unit := trimPrefix $n $s -}}
{{- $v := atoi $n -}}
{{- if eq $unit "h" -}}{{ mul $v 3600 }}
{{- else if eq $unit "m" -}}{{ mul $v 60 }}
{{- else if eq $unit "s" -}}{{ $v }}
{{- else if eq $unit "ms" -}}{{ div (add $v 999) 1000 }}
{{- else if and (eq $unit "") (eq $v 0) -}}0
{{- else -}}{{- fail (printf "%q is not a duration like 90s, 10m or 1h" $s) -}}
{{- end -}}
{{- end -}}

{{- define "shoal.podSecurityContext" -}}
{{- toYaml .Values.podSecurityContext -}}
{{- end -}}

{{- define "shoal.securityContext" -}}
{{- toYaml .Values.securityContext -}}
{{- end -}}

{{/* Pod spec fields every Shoal pod shares. enableServiceLinks is off: Docker-link
variables of Services named shoal-* (SHOAL_PROXY_PORT, ...) would share the
components' SHOAL_ settings prefix. */}}
{{- define "shoal.podCommon" -}}
enableServiceLinks: false
securityContext:
  {{- include "shoal.podSecurityContext" . | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* nodeSelector, tolerations and affinity of a component; call with the component's values. */}}
{{- define "shoal.scheduling" -}}
{{- with .nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
