{{/*
Named templates shared by the chart's manifests.
*/}}

{{/* The chart name, or nameOverride. */}}
{{- define "mcpgw.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name of the release's objects: fullnameOverride, else the release name when it
already contains the chart name (`helm install mcpgw …` gives `mcpgw`, not `mcpgw-mcpgw`),
else `<release>-<chart>`. At most 63 characters (DNS label).
*/}}
{{- define "mcpgw.fullname" -}}
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

{{/* `name-version` for the helm.sh/chart label. */}}
{{- define "mcpgw.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "mcpgw.labels" -}}
helm.sh/chart: {{ include "mcpgw.chart" . }}
{{ include "mcpgw.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: gateway
app.kubernetes.io/part-of: mcpgw
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Labels that select the pods; never change them on upgrade (selectors are immutable). */}}
{{- define "mcpgw.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mcpgw.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The ServiceAccount the pods run as. */}}
{{- define "mcpgw.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "mcpgw.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret holding the shared secrets: the existing one, or the chart's. */}}
{{- define "mcpgw.secretName" -}}
{{- default (include "mcpgw.fullname" .) .Values.secrets.existingSecret }}
{{- end }}

{{/* The image reference: repository@digest when a digest is given, else repository:tag. */}}
{{- define "mcpgw.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag | toString) }}
{{- end }}
{{- end }}

{{/*
HOST:PORT for a listen flag or variable, with an IPv6 host in brackets. Call with a
dict: (dict "host" "0.0.0.0" "port" 7860).
*/}}
{{- define "mcpgw.hostPort" -}}
{{- $host := toString .host }}
{{- if and (contains ":" $host) (not (hasPrefix "[" $host)) }}
{{- printf "[%s]:%d" $host (int .port) }}
{{- else }}
{{- printf "%s:%d" $host (int .port) }}
{{- end }}
{{- end }}

{{/*
mcpgw.toml: the user's `config`, as given. The chart adds no tables to it: what it sets
itself (listen address, data directory, metrics listener, …) goes in flags and MCPGW_*
variables, which win over the file.
*/}}
{{- define "mcpgw.configToml" -}}
{{- trim (toString (default "" .Values.config)) }}
{{- end }}

{{/* terminationGracePeriodSeconds: the value, else drain delay + drain + 10 s. */}}
{{- define "mcpgw.terminationGracePeriod" -}}
{{- if .Values.terminationGracePeriodSeconds }}
{{- int .Values.terminationGracePeriodSeconds }}
{{- else }}
{{- add (ceil .Values.drainDelaySeconds) (ceil .Values.drainSeconds) 10 }}
{{- end }}
{{- end }}

{{/*
Refuses values that would give a gateway that cannot start or that silently loses data,
with the fix in the message. Included by the Deployment, so that `helm install`,
`helm template` and `helm lint` all stop on them.
*/}}
{{- define "mcpgw.validate" -}}
{{- $s := .Values.secrets }}
{{- if not $s.existingSecret }}
  {{- if not (or $s.databaseUrl .Values.database.existingSecret.name) }}
    {{- fail "mcpgw: set secrets.databaseUrl (postgres://USER:PASSWORD@HOST:5432/DB), database.existingSecret or secrets.existingSecret. Replicas keep nothing on disk, so they need a shared PostgreSQL database; for a single gateway on SQLite use the container image or deploy/systemd instead." }}
  {{- end }}
  {{- if and $s.databaseUrl (not (or (hasPrefix "postgres://" $s.databaseUrl) (hasPrefix "postgresql://" $s.databaseUrl))) }}
    {{- fail "mcpgw: secrets.databaseUrl must be a PostgreSQL URL (postgres://… or postgresql://…): every replica must use the same database." }}
  {{- end }}
  {{- if not $s.secretKey }}
    {{- fail "mcpgw: set secrets.secretKey, the key that seals stored secrets, identical on every replica: openssl rand -base64 32" }}
  {{- end }}
  {{- if ne (len (b64dec $s.secretKey)) 32 }}
    {{- fail "mcpgw: secrets.secretKey must be base64 of 32 random bytes: openssl rand -base64 32" }}
  {{- end }}
  {{- if lt (len $s.adminToken) 16 }}
    {{- fail "mcpgw: set secrets.adminToken (16 characters or more), identical on every replica: echo \"mcpgw_$(openssl rand -hex 32)\"" }}
  {{- end }}
  {{- if and $s.adminPassword (lt (len $s.adminPassword) 12) }}
    {{- fail "mcpgw: secrets.adminPassword must be 12 characters or more: openssl rand -base64 24" }}
  {{- end }}
{{- end }}
{{- with .Values.database.existingSecret }}
  {{- if and .name (not .key) }}
    {{- fail "mcpgw: database.existingSecret.key must name the key that holds the PostgreSQL URL" }}
  {{- end }}
{{- end }}
{{- if not (has (toString .Values.podAntiAffinity) (list "soft" "hard" "")) }}
  {{- fail "mcpgw: podAntiAffinity must be soft, hard or \"\"" }}
{{- end }}
{{- if not (and (gt (float64 .Values.drainSeconds) 0.0) (lt (float64 .Values.drainSeconds) 86400.0)) }}
  {{- fail "mcpgw: drainSeconds must be more than 0 and less than 86400" }}
{{- end }}
{{- if not (and (ge (float64 .Values.drainDelaySeconds) 0.0) (lt (float64 .Values.drainDelaySeconds) 86400.0)) }}
  {{- fail "mcpgw: drainDelaySeconds must be 0 (off) or more, and less than 86400" }}
{{- end }}
{{- end }}
