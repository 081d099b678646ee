// Package epss loads FIRST's daily Exploit Prediction Scoring System
// scores (epss_scores-YYYY-MM-DD.csv.gz): one probability of exploitation
// in the next 30 days, and its percentile, per CVE.
package epss
