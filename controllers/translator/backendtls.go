package translator

func (t *translator) translateBackendTLS() {}
