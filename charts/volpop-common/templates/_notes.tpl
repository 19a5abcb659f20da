{{/*
NOTES.txt: what runs where, the Pod Security level the namespace should enforce (Helm cannot label
the namespace it creates with --create-namespace), and what helm uninstall leaves. Takes a dict:
root, what (the program), level (Pod Security level), runtime (what it makes at run time besides
events and its Lease; optional).
*/}}
{{- define "volpop.notes" -}}
{{- $ns := .root.Release.Namespace -}}
{{ .what }} runs in namespace {{ $ns }}.

Pod Security: the namespace should enforce the `{{ .level }}` level. Helm does not label a
namespace it creates, so label it yourself (once):
  kubectl label namespace {{ $ns }} pod-security.kubernetes.io/enforce={{ .level }} --overwrite
{{- $namespace := lookup "v1" "Namespace" "" $ns }}
{{- if and $namespace (ne (index ($namespace.metadata.labels | default dict) "pod-security.kubernetes.io/enforce" | default "") .level) }}

WARNING: namespace {{ $ns }} does not enforce `{{ .level }}` now.
{{- end }}

helm uninstall removes all this chart installed but its CRDs: Helm never deletes the CRDs of a
chart's crds/ folder, which would delete every object of their kinds. What the program made at
run time goes with the namespace: events, its leader election Lease{{ with .runtime }},
{{ . }}{{ end }}.
  kubectl delete namespace {{ $ns }}
{{- end }}
