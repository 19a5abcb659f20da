{{/* Where the controller and the backend see the node's socket directory, and the socket in it. */}}
{{- define "fastpath.socketMount" -}}/run/volpop-fastpath{{- end }}
{{- define "fastpath.endpoint" -}}unix://{{ include "fastpath.socketMount" . }}/backend.sock{{- end }}
{{- define "fastpath.socketVolume" -}}
name: backend-socket
hostPath:
  path: {{ .Values.socketHostDir }}
  type: DirectoryOrCreate
{{- end }}
