{{/*
Names. One release is one MI service in one namespace, so the release name (the service name) is the
object name; it is truncated to 63 characters, the limit of a label value and a DNS label.
*/}}
{{- define "wso2-mi.fullname" -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The ConfigMap holding deployment.toml and log4j2.properties. */}}
{{- define "wso2-mi.configName" -}}
{{- printf "%s-mi-conf" (include "wso2-mi.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels: immutable on a Deployment, so only the two that never change. */}}
{{- define "wso2-mi.selectorLabels" -}}
app.kubernetes.io/name: wso2-mi
app.kubernetes.io/instance: {{ .Release.Name | quote }}
{{- end -}}

{{/* Labels on every object and pod: the standard app.kubernetes.io set plus the platform's `labels`. */}}
{{- define "wso2-mi.labels" -}}
{{ include "wso2-mi.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.miVersion | quote }}
app.kubernetes.io/component: micro-integrator
app.kubernetes.io/part-of: imaas
app.kubernetes.io/managed-by: {{ .Release.Service | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | quote }}
{{- range $key, $value := .Values.labels }}
{{ $key }}: {{ $value | quote }}
{{- end }}
{{- end -}}

{{/* `<repository>@<digest>` when a digest is set, else `<repository>:<tag>`; refuses to render without either. */}}
{{- define "wso2-mi.image" -}}
{{- if not .Values.image.repository -}}
{{- fail "image.repository is not set: the platform sets it to <registry>/<tenant>/<service>" -}}
{{- end -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else if .Values.image.tag -}}
{{- printf "%s:%s" .Values.image.repository .Values.image.tag -}}
{{- else -}}
{{- fail "image.tag (or image.digest) is not set: CI writes it into the branch's deploy/values.yaml" -}}
{{- end -}}
{{- end -}}

{{/* Where the writable copy of the MI product home is mounted in the MI container. */}}
{{- define "wso2-mi.runtimeHome" -}}
/home/wso2carbon/mi-runtime
{{- end -}}

{{/* True (non-empty) when the service can run more than one pod at a time, i.e. a PDB makes sense. */}}
{{- define "wso2-mi.multiReplica" -}}
{{- if .Values.autoscaling.enabled -}}
{{- if gt (int .Values.autoscaling.minReplicas) 1 }}true{{ end -}}
{{- else if gt (int .Values.replicas) 1 -}}
true
{{- end -}}
{{- end -}}

{{/*
Environment variables of the MI container, as a name → value dict: the tenant's `extraConfig` first,
then the platform's `config` (the platform wins on a shared name). The names the chart sets itself
are refused by values.schema.json, so the rendered env list never holds a duplicate.
*/}}
{{- define "wso2-mi.userEnv" -}}
{{- $env := dict -}}
{{- range $k, $v := .Values.extraConfig }}{{ $_ := set $env $k $v }}{{ end -}}
{{- range $k, $v := .Values.config }}{{ $_ := set $env $k $v }}{{ end -}}
{{- toYaml $env -}}
{{- end -}}

{{/* Container security context: Pod Security Standards `restricted`, plus a read-only root filesystem. */}}
{{- define "wso2-mi.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10802
runAsGroup: 10802
allowPrivilegeEscalation: false
privileged: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Container resources from values (the init container gets the same, so it adds nothing to the pod's quota). */}}
{{- define "wso2-mi.resources" -}}
requests:
  cpu: {{ .Values.resources.requests.cpu | quote }}
  memory: {{ .Values.resources.requests.memory | quote }}
limits:
  cpu: {{ .Values.resources.limits.cpu | quote }}
  memory: {{ .Values.resources.limits.memory | quote }}
{{- end -}}

{{/* The keystore Secret (cert-manager's output); refuses to render without one. */}}
{{- define "wso2-mi.keystoreSecret" -}}
{{- required "security.keystoreSecret is not set: the platform sets it to the Secret of the service's keystore Certificate (<service>-mi-keystore)" .Values.security.keystoreSecret -}}
{{- end -}}

{{/* The credentials Secret (keystore password, management API user); refuses to render without one. */}}
{{- define "wso2-mi.credentialsSecret" -}}
{{- required "security.credentialsSecret is not set: the platform sets it to the service's credentials Secret (<service>-mi-credentials)" .Values.security.credentialsSecret -}}
{{- end -}}

{{/*
Where the keystore Secret is mounted, relative to the MI home (the same form as MI's own default
`repository/resources/security/wso2carbon.jks`), and where the init container writes the truststore.
*/}}
{{- define "wso2-mi.keystoreDir" -}}
repository/resources/security/imaas
{{- end -}}
{{- define "wso2-mi.truststoreFile" -}}
repository/resources/security/imaas-truststore.jks
{{- end -}}
