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

{{/* Labels of every object: the chart's own, then commonLabels. */}}
{{- define "certgate.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "certgate.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* The image reference: a digest, when set, pins the image; the tag stays for readers. */}}
{{- define "certgate.image" -}}
{{- $ref := printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- with .Values.image.digest }}
{{- $ref = printf "%s@%s" $ref . }}
{{- end }}
{{- $ref }}
{{- end }}

{{/*
The Pod securityContext: podSecurityContext, plus the sysctl that lets the
non-root process bind ports below 1024 when listeners.privilegedPorts.
*/}}
{{- define "certgate.podSecurityContext" -}}
{{- $sc := deepCopy .Values.podSecurityContext }}
{{- if .Values.listeners.privilegedPorts }}
{{- $sysctl := dict "name" "net.ipv4.ip_unprivileged_port_start" "value" "0" }}
{{- $_ := set $sc "sysctls" (append (get $sc "sysctls" | default list) $sysctl) }}
{{- end }}
{{- toYaml $sc }}
{{- end }}

{{/*
The container securityContext: securityContext, plus the NET_BIND_SERVICE
capability when listeners.privilegedPorts.
*/}}
{{- define "certgate.securityContext" -}}
{{- $sc := deepCopy .Values.securityContext }}
{{- if .Values.listeners.privilegedPorts }}
{{- $caps := get $sc "capabilities" | default dict }}
{{- $_ := set $caps "add" (append (get $caps "add" | default list) "NET_BIND_SERVICE" | uniq) }}
{{- $_ := set $sc "capabilities" $caps }}
{{- end }}
{{- toYaml $sc }}
{{- end }}

{{/* A probe of certgate's health port: the values' timings over the fixed endpoint. */}}
{{- define "certgate.probe" -}}
{{- toYaml (merge (dict "httpGet" (dict "path" .path "port" "health")) (deepCopy .probe)) }}
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
The rules of the objects named in .names (a list) in files/role.yaml, in
that order. That file is a copy of config/rbac/role.yaml, refreshed by
`make generate` and checked by `make verify-generate`: config/rbac/role.yaml
stays the one source of the controller's permissions (the envtest suite
runs the controller under it). It holds certgate-controller (the
cluster-scoped resources), certgate-controller-namespaced (the namespaced
ones) and certgate-leader-election (the Lease, and the Gateways' Services
of the Service-per-Gateway mode, in the release namespace).
*/}}
{{- define "certgate.rbacRules" -}}
{{- $rules := list }}
{{- range $name := .names }}
{{- $found := false }}
{{- range $doc := regexSplit "(?m)^---[ \t]*$" ($.ctx.Files.Get "files/role.yaml") -1 }}
{{- $obj := fromYaml $doc }}
{{- if eq (toString (dig "metadata" "name" "" $obj)) $name }}
{{- $rules = concat $rules (required (printf "files/role.yaml: %s has no rules" $name) (get $obj "rules")) }}
{{- $found = true }}
{{- end }}
{{- end }}
{{- if not $found }}
{{- fail (printf "files/role.yaml has no %s" $name) }}
{{- end }}
{{- end }}
{{- toYaml $rules }}
{{- end }}
