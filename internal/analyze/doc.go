// Package analyze finds the packages and distribution of an image by
// cataloguing each layer on its own (cached by diffID), then overlaying the
// layers and attributing each surviving package to the layer that brought it.
package analyze
