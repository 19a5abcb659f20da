{{/*
The metrics Service in front of the controller's `http` port (metrics, /healthz and /readyz), and
the Prometheus Operator's ServiceMonitor that scrapes it. Takes a dict: root, name (the controller's),
selector (its pods' selector labels).
*/}}
{{- define "volpop.metrics" -}}
{{- $root := .root -}}
{{- $metrics := $root.Values.metrics -}}
{{- if $metrics.service.enabled }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ .name }}-metrics
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "volpop.labels" $root | nindent 4 }}
    app.kubernetes.io/component: metrics
  {{- with $metrics.service.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  selector:
    {{- toYaml .selector | nindent 4 }}
  ports:
    - name: http
      port: {{ $metrics.service.port }}
      targetPort: http
{{- end }}
{{- if $metrics.serviceMonitor.enabled }}
{{- if not $metrics.service.enabled }}
{{- fail "metrics.serviceMonitor.enabled scrapes the metrics Service: set metrics.service.enabled=true too" }}
{{- end }}
{{- if not ($root.Capabilities.APIVersions.Has "monitoring.coreos.com/v1/ServiceMonitor") }}
{{- fail "metrics.serviceMonitor.enabled needs the Prometheus Operator's ServiceMonitor CRD (monitoring.coreos.com/v1), which this cluster does not serve: install the operator first (for `helm template`, pass --api-versions monitoring.coreos.com/v1/ServiceMonitor)" }}
{{- end }}
---
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: {{ .name }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "volpop.labels" $root | nindent 4 }}
    {{- with $metrics.serviceMonitor.labels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  selector:
    matchLabels:
      app.kubernetes.io/instance: {{ $root.Release.Name }}
      app.kubernetes.io/component: metrics
  namespaceSelector:
    matchNames: [{{ $root.Release.Namespace }}]
  endpoints:
    - port: http
      path: {{ $metrics.path }}
      {{- with $metrics.serviceMonitor.interval }}
      interval: {{ . }}
      {{- end }}
      {{- with $metrics.serviceMonitor.scrapeTimeout }}
      scrapeTimeout: {{ . }}
      {{- end }}
{{- end }}
{{- end }}
