package api

import (
	"net/http"

	"github.com/bulwarkdev/bulwark/internal/auth"
	"github.com/bulwarkdev/bulwark/internal/ingest"
	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/store"
)

// imageRoutes answer what the server knows of images by reference: the
// admission webhook and `audit k8s` feed BW-K8S-IMAGE-VULNS from them. The
// read scope is enough: a verdict is what GET /api/v1/resources shows. An
// agent's credential may ask too: the cluster agent feeds BW-K8S-IMAGE-VULNS.
func (a *API) imageRoutes() []Route {
	return []Route{
		{Method: "GET", Path: "/api/v1/images/verdict", Scope: auth.ScopeRead, Tag: "vulnerabilities",
			Summary: "One image's vulnerability verdict by reference or digest (digest first, else the image last seen under the repository and tag): known, digest, verdict, worst severity, counts, fixable and exempt counts, DB version.",
			Params:  []Param{q("image", "image reference (nginx:1.27, registry/app@sha256:…) or digest (required)")}, Result: "ImageVerdict", Handler: a.imageVerdict, Agents: true},
		{Method: "POST", Path: "/api/v1/images/verdicts", Scope: auth.ScopeRead, Tag: "vulnerabilities",
			Summary: "The verdicts of up to 500 images in one request, in the order asked (an unknown or unparsable reference is answered known: false).",
			Body:    "ImageVerdictRequest", Result: "ImageVerdicts", Handler: a.imageVerdicts, Agents: true},
	}
}

func (a *API) imageVerdict(w http.ResponseWriter, r *http.Request) {
	img := r.URL.Query().Get("image")
	if img == "" {
		problem(w, r, http.StatusBadRequest, "bad query", "image: an image reference or digest is required")
		return
	}
	vs, err := a.o.Store.ImageVerdicts(r.Context(), []store.ImageLookup{ingest.ParseImageLookup(img)})
	if err != nil {
		a.storeError(w, r, err, "image verdict")
		return
	}
	writeJSON(w, http.StatusOK, vs[0])
}

// ImageVerdictRequest asks for the verdicts of several images.
type ImageVerdictRequest struct {
	Images []string `json:"images"`
}

func (a *API) imageVerdicts(w http.ResponseWriter, r *http.Request) {
	var in ImageVerdictRequest
	if !decodeBody(w, r, &in) {
		return
	}
	if len(in.Images) > store.MaxImageLookups {
		problem(w, r, http.StatusBadRequest, "too many images", "at most 500 images per request")
		return
	}
	ls := make([]store.ImageLookup, len(in.Images))
	for i, img := range in.Images {
		ls[i] = ingest.ParseImageLookup(img)
	}
	vs, err := a.o.Store.ImageVerdicts(r.Context(), ls)
	if err != nil {
		a.storeError(w, r, err, "image verdicts")
		return
	}
	if vs == nil {
		vs = []model.ImageVerdict{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": vs})
}
