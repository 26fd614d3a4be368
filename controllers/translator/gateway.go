package translator

func (t *translator) translateGateways() {}
