{{/* Chart name, truncated to the 63 characters of a label value. */}}
{{- define "certgate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name of the release's objects. */}}
{{- define "certgate.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "certgate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "certgate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "certgate.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "certgate.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "certgate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "certgate.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "certgate.leaseName" -}}
{{- default (printf "%s-leader" (include "certgate.fullname" .)) .Values.leaderElection.leaseName }}
{{- end }}

{{/*
The rules of the object of kind .kind in files/role.yaml. That file is a
copy of config/rbac/role.yaml, refreshed by `make generate` and checked by
`make verify-generate`: config/rbac/role.yaml stays the one source of the
controller's permissions (the envtest suite runs the controller under it).
*/}}
{{- define "certgate.rbacRules" -}}
{{- $found := false }}
{{- range $doc := regexSplit "(?m)^---[ \t]*$" (.ctx.Files.Get "files/role.yaml") -1 }}
{{- $obj := fromYaml $doc }}
{{- if eq (toString (get $obj "kind")) $.kind }}
{{- toYaml (required (printf "files/role.yaml: %s has no rules" $.kind) (get $obj "rules")) }}
{{- $found = true }}
{{- end }}
{{- end }}
{{- if not $found }}
{{- fail (printf "files/role.yaml has no %s" .kind) }}
{{- end }}
{{- end }}
