package diagnosis

import (
	"slices"
	"strings"
)

// Alerts a proxy raises about the backends it routes to (ingress-nginx's
// 5xx per ingress, labelled with the backend's exported_service) are about
// the backend, but measured at the proxy: when the proxy itself fails,
// every route it serves shows it; when a backend fails, only that route
// does. A proxy whose routes all alert explains them; one with quiet
// routes pays for each.

// routeLabels carry the backend a proxy measured; the labels left name the
// proxy that measured it. ("host" is not among them: it is as often the
// machine an alert is about as a virtual host.)
var routeLabels = []string{"exported_service", "exported_namespace", "ingress", "destination_service_name",
	"destination_workload", "destination_service", "destination_app", "dst_deployment"}

// proxyKinds are the kinds of node that measure the requests they route.
var proxyKinds = []string{"ingress", "proxy", "loadbalancer", "lb", "mesh", "edge"}

// observer is the proxy that measured alert a about subject: the node its
// labels other than the route's name, of a proxy kind, routing to subject.
func (r *Resolver) observer(a Alert, subject string) string {
	labels := map[string]string{}
	route := false
	for k, val := range a.Labels {
		if slices.Contains(routeLabels, k) {
			route = true
			continue
		}
		labels[k] = val
	}
	if !route {
		return ""
	}
	o := r.Resolve(Alert{Labels: labels}).Node
	if o == "" || o == subject || !r.g.Has(o) || !slices.Contains(proxyKinds, strings.ToLower(r.g.Kind(o))) ||
		!r.g.DependsTransitively(o, subject) {
		return ""
	}
	return o
}

// watch notes, for each alerting node whose every alert a proxy measured,
// that proxy.
func (v *rcaView) watch(r *Resolver) {
	for _, n := range v.order {
		o := ""
		for _, a := range v.alerting[n].alerts {
			w := r.observer(a.Alert, n)
			if w == "" || o != "" && w != o {
				o = ""
				break
			}
			o = w
		}
		if o != "" {
			v.observed[n] = o
		}
	}
}

// measured: a proxy that fails makes every route it measures alert. It
// explains the alerting nodes whose every alert it measured as its own
// alerts, and its routes to services that stay quiet count against it.
func (v *rcaView) measured(c *rcaCand) {
	if !v.on(sigGraph) {
		return
	}
	var routes []string
	for _, n := range v.order {
		if v.observed[n] == c.node {
			routes = append(routes, n)
		}
	}
	if len(routes) == 0 {
		return
	}
	for _, n := range routes {
		// They are its own measurements: it is watched, whatever its kind.
		if p := v.p.SelfAlert * v.timely(c, n); p > c.explains[n] {
			c.explains[n] = p
			c.dist[n] = 1
			c.routes[n] = true
		}
	}
	for _, b := range v.g.DependsOn(c.node) {
		if _, ok := v.alerting[b]; !ok {
			c.fine = append(c.fine, b)
		}
	}
}
