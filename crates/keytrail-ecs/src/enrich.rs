//! Adds what the databases know of `source.ip`: its network (AS number and organization), its
//! place (country, city), and the known-bad lists that hold it.

use std::borrow::Cow;
use std::net::IpAddr;
use std::path::PathBuf;

use keytrail_enrich::{AsnDatabase, EnrichError, GeoDatabase, IntelSet};

use crate::event::{EcsEvent, Value};
use crate::schema::Col;

/// The databases available to a run; any may be missing, leaving its fields null.
#[derive(Default)]
pub struct Enrichment {
    pub asn: Option<AsnDatabase>,
    pub geo: Option<GeoDatabase>,
    pub intel: Option<IntelSet>,
}

/// Where the databases of an [`Enrichment`] are: what a worker of a distributed read opens,
/// on its own machine, to enrich as the coordinator would.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct EnrichmentFiles {
    pub asn: Option<PathBuf>,
    pub geo: Option<PathBuf>,
    /// The folder of known-bad lists (`keytrail intel add`).
    pub intel: Option<PathBuf>,
}

impl EnrichmentFiles {
    /// The databases; errors name the file.
    pub fn open(&self) -> Result<Enrichment, EnrichError> {
        let asn = self.asn.as_deref().map(AsnDatabase::open).transpose()?;
        let geo = self.geo.as_deref().map(GeoDatabase::open).transpose()?;
        let intel = match &self.intel {
            Some(dir) => Some(IntelSet::load(dir)?).filter(|set| !set.is_empty()),
            None => None,
        };
        Ok(Enrichment { asn, geo, intel })
    }
}

impl Enrichment {
    /// Fills the network and place of `source.ip`, when the event wants them. Values already
    /// present (ECS documents carry Elastic's own enrichment) are kept.
    pub fn apply<'a>(&'a self, event: &mut EcsEvent<'a>) {
        let asn = self
            .asn
            .as_ref()
            .filter(|_| event.wants(Col::SourceAsNumber) || event.wants(Col::SourceAsOrganizationName));
        let geo = self.geo.as_ref().filter(|_| {
            [Col::SourceGeoCountryIsoCode, Col::SourceGeoCountryName, Col::SourceGeoCityName]
                .iter()
                .any(|c| event.wants(*c))
        });
        let intel = self.intel.as_ref().filter(|_| event.wants(Col::ThreatFeedName));
        if asn.is_none() && geo.is_none() && intel.is_none() {
            return;
        }
        let Some(ip) = event.str(Col::SourceIp).and_then(|s| s.parse::<IpAddr>().ok()) else { return };
        if let Some(asn) = asn
            && matches!(event.get(Col::SourceAsNumber), Value::Null)
            && let Some(found) = asn.lookup(ip)
        {
            event.set(Col::SourceAsNumber, Value::Int(i64::from(found.number)));
            event.set_str(Col::SourceAsOrganizationName, Some(Cow::Borrowed(found.organization)));
        }
        if let Some(geo) = geo
            && matches!(event.get(Col::SourceGeoCountryIsoCode), Value::Null)
            && let Some(found) = geo.lookup(ip)
        {
            event.set_str(Col::SourceGeoCountryIsoCode, found.country_iso_code.map(Cow::Borrowed));
            event.set_str(Col::SourceGeoCountryName, found.country_name.map(Cow::Borrowed));
            event.set_str(Col::SourceGeoCityName, found.city_name.map(Cow::Borrowed));
        }
        if let Some(intel) = intel {
            let lists = intel.matches(ip);
            if !lists.is_empty() {
                event.set(Col::ThreatFeedName, Value::List(lists.into_iter().map(Cow::Borrowed).collect()));
            }
        }
    }
}
