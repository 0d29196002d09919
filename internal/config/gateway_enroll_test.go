package config

import "testing"

func TestGatewayProxyAddress(t *testing.T) {
	f := &File{}
	f.Organization.AuthDomain = "auth.example.com"
	if got := f.GatewayProxyAddress(); got != "" {
		t.Errorf("gateway off: %q, want empty", got)
	}
	f.Listen.Gateway = "0.0.0.0:3128"
	if got := f.GatewayProxyAddress(); got != "auth.example.com:3128" {
		t.Errorf("default: %q, want auth.example.com:3128", got)
	}
	f.Gateway.ProxyAddress = "proxy.example.com:8080"
	if got := f.GatewayProxyAddress(); got != "proxy.example.com:8080" {
		t.Errorf("configured: %q, want proxy.example.com:8080", got)
	}
}
