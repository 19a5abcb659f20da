{{/*
What every populator chart grants cluster-wide, as the kustomize bases do: only what a population
needs outside the populator namespace (read PVCs, PVs, StorageClasses and the source kind; patch the
user's PVC and the PV; events on the user's PVC; ReferenceGrants; registering the VolumePopulator).
Takes the source's group and plural resource: {group, resource}.
*/}}
{{- define "volpop.populator.rules" -}}
- apiGroups: [""]
  resources: [persistentvolumes]
  verbs: [get, list, watch, patch]
- apiGroups: [""]
  resources: [persistentvolumeclaims]
  verbs: [get, list, watch, patch]
- apiGroups: [""]
  resources: [events]
  verbs: [create]
- apiGroups: [storage.k8s.io]
  resources: [storageclasses]
  verbs: [get, list, watch]
- apiGroups: [{{ .group }}]
  resources: [{{ .resource }}]
  verbs: [get, list, watch]
- apiGroups: [gateway.networking.k8s.io]
  resources: [referencegrants]
  verbs: [list]
- apiGroups: [populator.storage.k8s.io]
  resources: [volumepopulators]
  verbs: [list, create]
{{- end }}

{{/*
What every populator chart grants in the release namespace only, where PVC' and the populator pods
live: PVC' create/delete, the pods and their logs, PVC' events. (Each chart adds its Lease rule.)
*/}}
{{- define "volpop.populator.namespacedRules" -}}
- apiGroups: [""]
  resources: [persistentvolumeclaims]
  verbs: [create, delete]
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list, watch, create, delete]
- apiGroups: [""]
  resources: [pods/log]
  verbs: [get]
- apiGroups: [""]
  resources: [events]
  verbs: [list, watch]
{{- end }}

{{/*
A populator controller's flags that every chart passes: controller mode, the image of its populator
pods, the health and metrics endpoint, the namespace it works in (the release's), its workers.
*/}}
{{- define "volpop.populator.args" -}}
{{- $image := .Values.populatorPod.image | default (include "volpop.image" .) -}}
{{- toYaml (list
  "--mode=controller"
  (printf "--image-name=%s" $image)
  (printf "--http-endpoint=:%v" .Values.metrics.port)
  (printf "--namespace=%s" .Release.Namespace)
  (printf "--workers=%v" .Values.workers)) -}}
{{- end }}

{{/*
Registers the source kind with the data-source validator, as the kustomize base does (the controller
also does it when it may, under another name: see the chart README). Takes {root, name, group, kind}.
*/}}
{{- define "volpop.populator.volumePopulator" -}}
{{- if .root.Values.volumePopulator.create }}
apiVersion: populator.storage.k8s.io/v1beta1
kind: VolumePopulator
metadata:
  name: {{ .name }}
  labels:
    {{- include "volpop.labels" .root | nindent 4 }}
sourceKind:
  group: {{ .group }}
  kind: {{ .kind }}
{{- end }}
{{- end }}
