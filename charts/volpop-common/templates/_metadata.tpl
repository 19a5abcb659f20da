{{/*
Labels every object of a volpop chart carries, besides the selector labels of the kustomize base
(which stay as they are there: a Deployment's selector cannot change, so a kustomize install can be
taken over by the chart).
*/}}
{{- define "volpop.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: volpop
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}

{{/*
The image: repository@digest when a digest is given (what pods pull, whatever the tag), else
repository:tag, the tag defaulting to the chart's appVersion (the package's version).
*/}}
{{- define "volpop.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end }}

{{/* "true" when the controller runs under leader election: asked for, or more than one replica. */}}
{{- define "volpop.leaderElection" -}}
{{- if or .Values.leaderElection.enabled (gt (int .Values.replicas) 1) -}}true{{- end -}}
{{- end }}

{{/*
The flags every volpop controller takes, as a YAML list: the SDK's leader election flags
(packages/sdk/src/flags/groups/leader-election.ts), --metrics-path and --log-level when not their
defaults, then the operator's extraArgs.
*/}}
{{- define "volpop.commonArgs" -}}
{{- $args := list -}}
{{- $election := .Values.leaderElection -}}
{{- if include "volpop.leaderElection" . -}}
{{- $args = append $args "--leader-election" -}}
{{- with $election.leaseDuration }}{{ $args = append $args (printf "--leader-election-lease-duration=%s" .) }}{{ end -}}
{{- with $election.renewDeadline }}{{ $args = append $args (printf "--leader-election-renew-deadline=%s" .) }}{{ end -}}
{{- with $election.retryPeriod }}{{ $args = append $args (printf "--leader-election-retry-period=%s" .) }}{{ end -}}
{{- end -}}
{{- if ne .Values.metrics.path "/metrics" }}{{ $args = append $args (printf "--metrics-path=%s" .Values.metrics.path) }}{{ end -}}
{{- with .Values.logLevel }}{{ $args = append $args (printf "--log-level=%s" .) }}{{ end -}}
{{- toYaml (concat $args .Values.extraArgs) -}}
{{- end }}
