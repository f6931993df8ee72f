package source

// Grafana alerting's webhook contact point sends Alertmanager's shape
// (receiver, status, orgId, alerts with their labels, annotations,
// startsAt, endsAt, fingerprint, values...) as its version "1", which
// webhook reads as it reads Alertmanager's. An alert whose annotations
// have neither summary nor description is told by its valueString, the
// values that fired it.
func init() {
	Register("grafana", webhook{tool: "Grafana", versions: []string{"1", ""}, valueString: true})
}
