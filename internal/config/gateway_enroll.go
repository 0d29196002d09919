package config

import (
	"net"
	"strconv"

	"github.com/gatehouse/gatehouse/internal/netguard"
)

// GatewayProxyAddress returns the host:port users configure as their proxy (device enrolment
// shows it and personal PAC files name it): gateway.proxy_address when set, else the auth
// domain's host with listen.gateway's port. "" when the gateway is off.
func (f *File) GatewayProxyAddress() string {
	if f.Listen.Gateway == "" {
		return ""
	}
	if f.Gateway.ProxyAddress != "" {
		return f.Gateway.ProxyAddress
	}
	_, port, err := net.SplitHostPort(f.Listen.Gateway)
	if err != nil {
		return ""
	}
	return net.JoinHostPort(f.Organization.AuthDomain, port)
}

// gatewayProxyAddress checks gateway.proxy_address: a host name or IP address and a port.
func (c *checker) gatewayProxyAddress() {
	a := c.f.Gateway.ProxyAddress
	if a == "" {
		return
	}
	const path = "gateway.proxy_address"
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		c.add(path, "must be host:port, the address users configure as their proxy (for example proxy.example.com:3128)")
		return
	}
	if _, err := netguard.CanonicalHost(host); err != nil || host == "" {
		c.addf(path, "%q is not a valid host name or IP address", host)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		c.add(path, "must end in a port number between 1 and 65535")
	}
}
