{{/* Names: every object name derives from the release, so releases coexist. */}}
{{- define "todo-chatbot.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Object name prefix; 54 characters leave room for "-frontend". */}}
{{- define "todo-chatbot.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 54 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 54 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 54 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "todo-chatbot.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Image reference from (list .Values.<component>.image .Chart.AppVersion .Values.global);
global.imageRegistry, when set, replaces every image's registry (Bitnami's rule).
*/}}
{{- define "todo-chatbot.image" -}}
{{- $image := index . 0 }}
{{- $registry := default $image.registry (index . 2).imageRegistry }}
{{- $repository := $image.repository }}
{{- if $registry }}{{ $repository = printf "%s/%s" $registry $repository }}{{ end }}
{{- if $image.digest }}
{{- printf "%s@%s" $repository $image.digest }}
{{- else }}
{{- printf "%s:%s" $repository (default (index . 1) $image.tag) }}
{{- end }}
{{- end }}

{{/*
Variables from keys of the release's Secret, named as the keys:
(list <root context> <keys>).
*/}}
{{- define "todo-chatbot.secretEnv" -}}
{{- $root := index . 0 }}
{{- range index . 1 }}
- name: {{ . }}
  valueFrom:
    secretKeyRef:
      key: {{ . }}
      name: {{ include "todo-chatbot.secretName" $root | quote }}
      optional: false
{{- end }}
{{- end }}

{{- define "todo-chatbot.secretData" -}}
{{- range $key, $value := . }}
{{ $key }}: {{ $value | b64enc | quote }}
{{- end }}
{{- end }}

{{/* One emptyDir per writable path; the names are the constructs' (workload.WRITABLE_VOLUME). */}}
{{- define "todo-chatbot.writableVolumes" -}}
{{- range $index, $path := . }}
- emptyDir: {}
  name: writable-{{ $index }}
{{- end }}
{{- end }}

{{- define "todo-chatbot.writableMounts" -}}
{{- range $index, $path := . }}
- mountPath: {{ $path | quote }}
  name: writable-{{ $index }}
{{- end }}
{{- end }}

{{- define "todo-chatbot.pullSecrets" -}}
{{- range . }}
- name: {{ . | quote }}
{{- end }}
{{- end }}

{{- define "todo-chatbot.ipBlocks" -}}
{{- range . }}
- ipBlock:
    cidr: {{ . | quote }}
{{- end }}
{{- end }}

{{/* The ExternalSecret's data: one item per key of a remoteRefs map, in key order. */}}
{{- define "todo-chatbot.externalSecretData" -}}
{{- range $key, $ref := . }}
- secretKey: {{ $key }}
  remoteRef:
    key: {{ $ref.key | quote }}
    {{- if $ref.property }}
    property: {{ $ref.property | quote }}
    {{- end }}
{{- end }}
{{- end }}

{{- define "todo-chatbot.secretName" -}}
{{- default (include "todo-chatbot.fullname" .) .Values.secrets.existingSecret }}
{{- end }}

{{/*
The URL users open: config.publicUrl, else the ingress host (https with TLS),
else the route's first hostname with httpRoute.scheme (TLS is the Gateway's,
so the operator says), else http://localhost:8080, where
`kubectl port-forward` (NOTES.txt) puts it.
*/}}
{{- define "todo-chatbot.publicUrl" -}}
{{- if .Values.config.publicUrl }}
{{- .Values.config.publicUrl }}
{{- else if .Values.ingress.enabled }}
{{- printf "%s://%s" (ternary "https" "http" .Values.ingress.tls.enabled) .Values.ingress.host }}
{{- else if and .Values.httpRoute.enabled .Values.httpRoute.hostnames }}
{{- printf "%s://%s" .Values.httpRoute.scheme (first .Values.httpRoute.hostnames) }}
{{- else }}
{{- print "http://localhost:8080" }}
{{- end }}
{{- end }}

{{/*
Fails when an EnvVar of (list path taken vars) has a name of `taken` (the variables the chart
sets) or of an earlier one: Kubernetes would keep one silently, and Helm 4's server-side
apply refuses the object.
*/}}
{{- define "todo-chatbot.uniqueEnv" -}}
{{- $path := index . 0 }}
{{- $taken := index . 1 }}
{{- $seen := list }}
{{- range $index, $var := index . 2 }}
{{- if has $var.name $taken }}
{{- fail (printf "%s[%d] sets %s, which the chart sets already: use the chart's value for it, or rename the chart's variable with envNames" $path $index $var.name) }}
{{- end }}
{{- if has $var.name $seen }}
{{- fail (printf "%s[%d] sets %s, as an earlier entry does: set each variable once" $path $index $var.name) }}
{{- end }}
{{- $seen = append $seen $var.name }}
{{- end }}
{{- end }}

{{/*
The Secret key the frontend reads as its DATABASE_URL: its own role's URL when there is one.
*/}}
{{- define "todo-chatbot.frontendDatabaseKey" -}}
{{- $secrets := .Values.secrets }}
{{- $own := ternary $secrets.existingSecretFrontendDatabaseUrl $secrets.frontendDatabaseUrl (not (empty $secrets.existingSecret)) }}
{{- if $secrets.externalSecret.enabled }}
{{- $own = hasKey $secrets.externalSecret.remoteRefs "FRONTEND_DATABASE_URL" }}
{{- end }}
{{- ternary "FRONTEND_DATABASE_URL" "DATABASE_URL" (not (empty $own)) }}
{{- end }}

{{/*
Checks values.schema.json cannot express. Messages name the value, never
print a secret.
*/}}
{{- define "todo-chatbot.validate" -}}
{{- $secrets := .Values.secrets }}
{{- $external := $secrets.externalSecret }}
{{- if and $secrets.existingSecret $external.enabled }}
{{- fail "secrets.existingSecret and secrets.externalSecret.enabled both say where the Secret comes from: set one" }}
{{- end }}
{{- if $external.enabled }}
{{- if not $external.secretStoreRef.name }}
{{- fail "secrets.externalSecret.secretStoreRef.name is required when secrets.externalSecret.enabled is true: the SecretStore that reads the remote secrets" }}
{{- end }}
{{- $aiKey := printf "%s_API_KEY" (upper .Values.ai.provider) }}
{{- range list "DATABASE_URL" "BETTER_AUTH_SECRET" $aiKey }}
{{- if not (hasKey $external.remoteRefs .) }}
{{- fail (printf "secrets.externalSecret.remoteRefs.%s is required when secrets.externalSecret.enabled is true: the remote key (and property) that holds %s" . .) }}
{{- end }}
{{- end }}
{{- range $component := list "backend" "frontend" }}
{{- range (get $.Values $component).extraSecretKeys }}
{{- if not (hasKey $external.remoteRefs .) }}
{{- fail (printf "%s.extraSecretKeys names %s, which secrets.externalSecret.remoteRefs lacks: add it there" $component .) }}
{{- end }}
{{- end }}
{{- end }}
{{- else if not $secrets.existingSecret }}
{{- if not $secrets.databaseUrl }}
{{- fail "secrets.databaseUrl is required: set it, or set secrets.existingSecret to a Secret holding DATABASE_URL" }}
{{- end }}
{{- if not (regexMatch "^postgres(ql)?://" $secrets.databaseUrl) }}
{{- fail "secrets.databaseUrl must be a PostgreSQL URL starting with postgresql:// (value not shown)" }}
{{- end }}
{{- if and $secrets.frontendDatabaseUrl (not (regexMatch "^postgres(ql)?://" $secrets.frontendDatabaseUrl)) }}
{{- fail "secrets.frontendDatabaseUrl must be a PostgreSQL URL starting with postgresql:// (value not shown)" }}
{{- end }}
{{- if not $secrets.betterAuthSecret }}
{{- fail "secrets.betterAuthSecret is required: set it, or set secrets.existingSecret to a Secret holding BETTER_AUTH_SECRET" }}
{{- end }}
{{- if lt (len $secrets.betterAuthSecret) {minAuthSecretLength} }}
{{- fail (printf "secrets.betterAuthSecret must be at least {minAuthSecretLength} characters, got %d (value not shown)" (len $secrets.betterAuthSecret)) }}
{{- end }}
{{- $key := ternary "openaiApiKey" "geminiApiKey" (eq .Values.ai.provider "openai") }}
{{- if not (get $secrets $key) }}
{{- fail (printf "secrets.%s is required when ai.provider is %s (or set secrets.existingSecret)" $key .Values.ai.provider) }}
{{- end }}
{{- range $key, $value := $secrets.extra }}
{{- if not $value }}
{{- fail (printf "secrets.extra.%s must not be empty" $key) }}
{{- end }}
{{- end }}
{{- range $component := list "backend" "frontend" }}
{{- range (get $.Values $component).extraSecretKeys }}
{{- if not (hasKey $secrets.extra .) }}
{{- fail (printf "%s.extraSecretKeys names %s, which secrets.extra lacks: add it there (or use secrets.existingSecret)" $component .) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- $variables := include "todo-chatbot.variables" . | fromJson }}
{{- range $component := list "backend" "frontend" }}
{{- $renames := (get $.Values $component).envNames }}
{{- $names := list }}
{{- range $variable := get $variables $component }}
{{- $name := get $renames $variable | default $variable }}
{{- if has $name $names }}
{{- fail (printf "%s.envNames gives two variables the name %s" $component $name) }}
{{- end }}
{{- $names = append $names $name }}
{{- end }}
{{- range (get $.Values $component).extraSecretKeys }}
{{- if has . $names }}
{{- fail (printf "%s.extraSecretKeys names %s, a variable the chart sets already: rename the chart's with %s.envNames" $component . $component) }}
{{- end }}
{{- $names = append $names . }}
{{- end }}
{{- include "todo-chatbot.uniqueEnv" (list (printf "%s.extraEnvVars" $component) $names (get $.Values $component).extraEnvVars) }}
{{- end }}
{{- if .Values.migrations.enabled }}
{{- $databaseUrl := get .Values.backend.envNames "DATABASE_URL" | default "DATABASE_URL" }}
{{- include "todo-chatbot.uniqueEnv" (list "migrations.extraEnvVars" (list $databaseUrl) .Values.migrations.extraEnvVars) }}
{{- end }}
{{- range $component := list "backend" "frontend" }}
{{- $scaling := (get $.Values $component).autoscaling }}
{{- if and $scaling.enabled (gt (int $scaling.minReplicas) (int $scaling.maxReplicas)) }}
{{- fail (printf "%s.autoscaling.minReplicas (%d) must not exceed maxReplicas (%d)" $component (int $scaling.minReplicas) (int $scaling.maxReplicas)) }}
{{- end }}
{{- end }}
{{- if .Values.backend.publicPath }}
{{- if not (or .Values.ingress.enabled .Values.httpRoute.enabled) }}
{{- fail (printf "backend.publicPath (%s) is routed by the chart's Ingress or HTTPRoute: set ingress.enabled or httpRoute.enabled" .Values.backend.publicPath) }}
{{- end }}
{{- if and .Values.networkPolicy.enabled (not .Values.networkPolicy.ingressNamespace) }}
{{- fail "networkPolicy.ingressNamespace must name the ingress controller's (or Gateway's) namespace when backend.publicPath is set: the backend's NetworkPolicy admits only that namespace besides the frontend" }}
{{- end }}
{{- end }}
{{- range $component := list "backend" "frontend" }}
{{- $ports := (get $.Values $component).containerPorts }}
{{- if eq (int $ports.metrics) (int $ports.http) }}
{{- fail (printf "%s.containerPorts.metrics (%d) must differ from containerPorts.http: /metrics is served apart from the app" $component (int $ports.metrics)) }}
{{- end }}
{{- end }}
{{- if and .Values.metrics.serviceMonitor.enabled .Values.metrics.podMonitor.enabled }}
{{- fail "metrics.serviceMonitor.enabled and metrics.podMonitor.enabled would scrape every pod twice: enable one" }}
{{- end }}
{{- if and .Values.httpRoute.enabled (not .Values.httpRoute.parentRefs) }}
{{- fail "httpRoute.parentRefs must name at least one Gateway when httpRoute.enabled is true" }}
{{- end }}
{{- if and .Values.httpRoute.enabled (not .Values.ingress.enabled) (not .Values.httpRoute.hostnames) (not .Values.config.publicUrl) }}
{{- fail "httpRoute.hostnames or config.publicUrl must be set when httpRoute.enabled is true: sign-in needs the URL users open" }}
{{- end }}
{{- end }}
