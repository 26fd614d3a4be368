package translator

func (t *translator) translateHTTPRoutes() {}
