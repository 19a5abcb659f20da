{{/*
The controller's Deployment, the same for the validator and every populator: one container serving
health and metrics on the `http` port, under the chart's pod settings. Takes a dict:
  root            the chart's context (.)
  name            Deployment name (the kustomize base's)
  selector        selector labels (the kustomize base's, which a Deployment cannot change)
  serviceAccount  its ServiceAccount
  container       the container's name
  args            the chart's own flags, before volpop.commonArgs
  env, ports, volumes, volumeMounts   optional extras
  strategy        optional Deployment strategy
  probePeriods    optional {liveness, readiness} periodSeconds
*/}}
{{- define "volpop.deployment" -}}
{{- $root := .root -}}
{{- $values := $root.Values -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .name }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "volpop.labels" $root | nindent 4 }}
    {{- toYaml .selector | nindent 4 }}
spec:
  replicas: {{ $values.replicas }}
  {{- with .strategy }}
  strategy:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  selector:
    matchLabels:
      {{- toYaml .selector | nindent 6 }}
  template:
    metadata:
      labels:
        {{- with $values.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
        app.kubernetes.io/instance: {{ $root.Release.Name }}
        app.kubernetes.io/part-of: volpop
        {{- toYaml .selector | nindent 8 }}
      {{- with $values.podAnnotations }}
      annotations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    spec:
      serviceAccountName: {{ .serviceAccount }}
      {{- with $values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $values.priorityClassName }}
      priorityClassName: {{ . }}
      {{- end }}
      {{- with $values.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $values.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $values.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- toYaml $values.podSecurityContext | nindent 8 }}
      containers:
        - name: {{ .container }}
          image: {{ include "volpop.image" $root }}
          imagePullPolicy: {{ $values.image.pullPolicy }}
          args:
            {{- toYaml (concat .args (include "volpop.commonArgs" $root | fromYamlArray)) | nindent 12 }}
          {{- with .env }}
          env:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          ports:
            - name: http
              containerPort: {{ $values.metrics.port }}
            {{- with .ports }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          livenessProbe:
            httpGet: { path: /healthz, port: http }
            {{- with .probePeriods }}
            periodSeconds: {{ .liveness }}
            {{- end }}
          readinessProbe:
            httpGet: { path: /readyz, port: http }
            {{- with .probePeriods }}
            periodSeconds: {{ .readiness }}
            {{- end }}
          resources:
            {{- toYaml $values.resources | nindent 12 }}
          securityContext:
            {{- toYaml $values.securityContext | nindent 12 }}
          {{- with .volumeMounts }}
          volumeMounts:
            {{- toYaml . | nindent 12 }}
          {{- end }}
      {{- with .volumes }}
      volumes:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end }}
