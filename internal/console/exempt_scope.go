package console

import (
	"net/http"

	"github.com/bulwarkdev/bulwark/internal/recommend"
	"github.com/bulwarkdev/bulwark/internal/store"
)

// exemptionScope reads the exempt form's scope: this resource, its
// repository (an image's: read from the inventory when the form is sent),
// its namespace or its cluster (from the resource's row). The API
// validates the result like any exemption.
func (c *Console) exemptionScope(w http.ResponseWriter, r *http.Request) (recommend.Scope, string, bool) {
	f := r.PostForm
	res := f.Get("resource")
	switch recommend.Scope(f.Get("scope")) {
	case "", recommend.ScopeResource:
		return recommend.ScopeResource, res, true
	case recommend.ScopeNamespace:
		return recommend.ScopeNamespace, f.Get("namespace"), true
	case recommend.ScopeCluster:
		return recommend.ScopeCluster, f.Get("cluster"), true
	case recommend.ScopeRepository:
		var d store.ResourceDetail
		if !c.get(w, r, "/api/v1/resources/"+idPath(res), &d) {
			return "", "", false
		}
		repo := d.Parent
		if len(d.References) > 0 {
			repo = d.References[0].Repository
		}
		if repo == "" {
			c.recommendationPage(w, r, http.StatusBadRequest, "The exemption was refused: "+res+" was not seen under a repository.")
			return "", "", false
		}
		return recommend.ScopeRepository, repo, true
	}
	c.recommendationPage(w, r, http.StatusBadRequest, "The exemption was refused: scope: this resource, its repository, its namespace or its cluster.")
	return "", "", false
}
