package translator

func (t *translator) translateClientCertPolicies() {}
