package distro

import (
	"strings"
	"time"

	"github.com/bulwarkdev/bulwark/internal/model"
)

// eolDates maps a distribution ID and its release key (as releaseKey
// derives it) to the vendor's published end of support, YYYY-MM-DD. Where
// a vendor publishes only a month, the last day of that month is used.
//
//   - Debian: end of LTS (https://wiki.debian.org/LTS).
//   - Ubuntu: end of standard support, without ESM (https://ubuntu.com/about/release-cycle).
//   - Alpine: end of the branch's main repository (https://alpinelinux.org/releases/).
//   - RHEL and rebuilds: end of maintenance support; CentOS Linux its announced end.
//   - Amazon Linux, Fedora, CBL-Mariner, SLES (per service pack), openSUSE Leap:
//     the vendors' end-of-life announcements.
var eolDates = map[string]map[string]string{
	"debian": {
		"7": "2018-05-31", "8": "2020-06-30", "9": "2022-06-30", "10": "2024-06-30",
		"11": "2026-08-31", "12": "2028-06-30", "13": "2030-06-30",
	},
	"ubuntu": {
		"14.04": "2019-04-30", "14.10": "2015-07-23", "15.04": "2016-02-04", "15.10": "2016-07-28",
		"16.04": "2021-04-30", "16.10": "2017-07-20", "17.04": "2018-01-13", "17.10": "2018-07-19",
		"18.04": "2023-05-31", "18.10": "2019-07-18", "19.04": "2020-01-23", "19.10": "2020-07-17",
		"20.04": "2025-05-31", "20.10": "2021-07-22", "21.04": "2022-01-20", "21.10": "2022-07-14",
		"22.04": "2027-04-30", "22.10": "2023-07-20", "23.04": "2024-01-25", "23.10": "2024-07-11",
		"24.04": "2029-04-30", "24.10": "2025-07-10", "25.04": "2026-01-31", "25.10": "2026-07-31",
	},
	"alpine": {
		"3.0": "2016-05-01", "3.1": "2016-11-01", "3.2": "2017-05-01", "3.3": "2017-11-01",
		"3.4": "2018-05-01", "3.5": "2018-11-01", "3.6": "2019-05-01", "3.7": "2019-11-01",
		"3.8": "2020-05-01", "3.9": "2020-11-01", "3.10": "2021-05-01", "3.11": "2021-11-01",
		"3.12": "2022-05-01", "3.13": "2022-11-01", "3.14": "2023-05-01", "3.15": "2023-11-01",
		"3.16": "2024-05-23", "3.17": "2024-11-22", "3.18": "2025-05-09", "3.19": "2025-11-01",
		"3.20": "2026-04-01", "3.21": "2026-11-01", "3.22": "2027-05-01", "3.23": "2027-11-01",
	},
	"rhel":          {"6": "2020-11-30", "7": "2024-06-30", "8": "2029-05-31", "9": "2032-05-31", "10": "2035-05-31"},
	"centos":        {"6": "2020-11-30", "7": "2024-06-30", "8": "2021-12-31"},
	"centos-stream": {"8": "2024-05-31", "9": "2027-05-31", "10": "2030-01-01"},
	"rocky":         {"8": "2029-05-31", "9": "2032-05-31", "10": "2035-05-31"},
	"almalinux":     {"8": "2029-03-01", "9": "2032-05-31", "10": "2035-05-31"},
	"ol":            {"6": "2021-03-01", "7": "2024-12-31", "8": "2029-07-31", "9": "2032-06-30"},
	"amzn":          {"1": "2023-12-31", "2": "2026-06-30", "2023": "2029-06-30"},
	"fedora": {
		"35": "2022-12-13", "36": "2023-05-16", "37": "2023-12-05", "38": "2024-05-21",
		"39": "2024-11-26", "40": "2025-05-13", "41": "2025-12-15",
	},
	"mariner": {"1": "2023-07-31", "2": "2025-07-31"},
	"sles": {
		"12.5": "2024-10-31", "15.1": "2021-01-31", "15.2": "2021-12-31", "15.3": "2022-12-31",
		"15.4": "2023-12-31", "15.5": "2024-12-31", "15.6": "2025-12-31",
	},
	"opensuse-leap": {
		"15.1": "2021-02-02", "15.2": "2022-01-04", "15.3": "2022-12-31", "15.4": "2023-12-07",
		"15.5": "2024-12-31", "15.6": "2026-04-30",
	},
}

// releaseKey reduces an os-release VERSION_ID to the release the vendor
// supports as a unit: Alpine and Ubuntu by major.minor ("3.18.4" → "3.18"),
// SUSE by service pack ("15.5"), the Red Hat family, Debian, Fedora and
// Mariner by major ("12.5" → "12", "9.3" → "9", "2.0" → "2"). Amazon Linux 1
// reports dated versions ("2018.03").
func releaseKey(d *model.Distro) (table, key string) {
	id, v := d.ID, d.VersionID
	major, _, _ := strings.Cut(v, ".")
	switch id {
	case "alpine", "ubuntu", "sles", "opensuse-leap":
		return id, majorMinor(v)
	case "amzn":
		if len(major) == 4 && strings.HasPrefix(major, "201") {
			return id, "1"
		}
		return id, major
	case "centos":
		if strings.Contains(strings.ToLower(d.PrettyName), "stream") {
			return "centos-stream", major
		}
		return id, major
	case "azurelinux":
		return "mariner", major
	}
	return id, major
}

// MarkEOL sets d.EOL and d.EOLDate from the vendor's published end of
// support, when the table knows the release. EOL is true from the day
// after the end date on. d may be nil.
func MarkEOL(d *model.Distro, now time.Time) {
	if d == nil {
		return
	}
	table, key := releaseKey(d)
	date, ok := eolDates[table][key]
	if !ok {
		return
	}
	end, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return // the table is data checked by tests; stay quiet if it ever is not
	}
	d.EOLDate = date
	d.EOL = !now.UTC().Before(end.AddDate(0, 0, 1))
}
