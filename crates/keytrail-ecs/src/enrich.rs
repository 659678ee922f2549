//! Adds what the databases know of `source.ip`: its network (AS number and organization) and
//! its place (country, city).

use std::borrow::Cow;
use std::net::IpAddr;

use keytrail_enrich::{AsnDatabase, GeoDatabase};

use crate::event::{EcsEvent, Value};
use crate::schema::Col;

/// The databases available to a run; either may be missing, leaving its fields null.
#[derive(Default)]
pub struct Enrichment {
    pub asn: Option<AsnDatabase>,
    pub geo: Option<GeoDatabase>,
}

impl Enrichment {
    /// Fills the network and place of `source.ip`. Values already present (ECS documents
    /// carry Elastic's own enrichment) are kept.
    pub fn apply(&self, event: &mut EcsEvent<'_>) {
        if self.asn.is_none() && self.geo.is_none() {
            return;
        }
        let Some(ip) = event.str(Col::SourceIp).and_then(|s| s.parse::<IpAddr>().ok()) else { return };
        if let Some(asn) = &self.asn
            && matches!(event.get(Col::SourceAsNumber), Value::Null)
            && let Some(found) = asn.lookup(ip)
        {
            event.set(Col::SourceAsNumber, Value::Int(i64::from(found.number)));
            event.set_str(Col::SourceAsOrganizationName, Some(Cow::Owned(found.organization.to_string())));
        }
        if let Some(geo) = &self.geo
            && matches!(event.get(Col::SourceGeoCountryIsoCode), Value::Null)
            && let Some(found) = geo.lookup(ip)
        {
            let own = |s: Option<&str>| s.map(|s| Cow::Owned(s.to_string()));
            event.set_str(Col::SourceGeoCountryIsoCode, own(found.country_iso_code));
            event.set_str(Col::SourceGeoCountryName, own(found.country_name));
            event.set_str(Col::SourceGeoCityName, own(found.city_name));
        }
    }
}
