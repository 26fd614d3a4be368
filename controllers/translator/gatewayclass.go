package translator

func (t *translator) translateGatewayClasses() {}
