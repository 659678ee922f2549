//! Source address pools. Every pool is a set of blocks that the named network
//! really announces, so that enrichment (ASN, cloud provider, geography) of the
//! generated logs tells the same story as the actor that produced them.

use rand::Rng;
use rand::rngs::SmallRng;
use std::net::Ipv4Addr;

/// An IPv4 block.
#[derive(Clone, Copy)]
pub(crate) struct Cidr {
    base: u32,
    bits: u8,
}

const fn cidr(a: u8, b: u8, c: u8, d: u8, bits: u8) -> Cidr {
    Cidr { base: u32::from_be_bytes([a, b, c, d]), bits }
}

/// Microsoft Azure, where GitHub-hosted runners live. Only blocks announced
/// by Microsoft Corporation itself: parts of 40.64.0.0/10 belong to the
/// operator of Azure China, which rules on CI networks treat as foreign.
pub(crate) const AZURE: &[Cidr] = &[
    cidr(20, 0, 0, 0, 11),
    cidr(4, 148, 0, 0, 16),
    cidr(52, 224, 0, 0, 11),
    cidr(13, 64, 0, 0, 11),
    cidr(40, 80, 0, 0, 12),
    cidr(40, 112, 0, 0, 13),
];

/// Google Cloud, where the Terraform pipeline runs: blocks of Google LLC
/// (34.96.0.0/11 also holds Google Asia Pacific's).
pub(crate) const GCP: &[Cidr] = &[cidr(34, 64, 0, 0, 11), cidr(35, 184, 0, 0, 13)];

/// Rented servers and VPN exits that attackers work from, one pool per AS
/// organization (named as the ASN data names it).
pub(crate) const DIGITALOCEAN: &[Cidr] =
    &[cidr(68, 183, 0, 0, 16), cidr(46, 101, 0, 0, 16), cidr(206, 189, 0, 0, 16), cidr(178, 62, 0, 0, 16)];
/// Hetzner Online GmbH.
pub(crate) const HETZNER: &[Cidr] = &[cidr(95, 216, 0, 0, 15), cidr(78, 46, 0, 0, 15), cidr(65, 108, 0, 0, 15)];
/// OVH SAS.
pub(crate) const OVH: &[Cidr] = &[cidr(54, 36, 0, 0, 14), cidr(51, 254, 0, 0, 15), cidr(141, 94, 0, 0, 15)];
/// M247 Europe SRL, the network behind many commercial VPNs' exits.
pub(crate) const M247: &[Cidr] = &[cidr(146, 70, 64, 0, 18), cidr(146, 70, 128, 0, 18), cidr(5, 157, 192, 0, 19)];
/// Datacamp Limited (CDN77), another VPN host.
pub(crate) const DATACAMP: &[Cidr] = &[cidr(89, 187, 160, 0, 19), cidr(149, 102, 224, 0, 19)];

/// Tor exit relays, at the organizations that run many of them (as the ASN
/// data names them): Stiftung Erneuerbare Freiheit, F3 Netze e.V., the
/// Foundation for Applied Privacy and the Church of Cyberology.
pub(crate) const TOR_EXITS: &[Cidr] =
    &[cidr(185, 220, 101, 0, 24), cidr(185, 220, 100, 0, 24), cidr(109, 70, 100, 0, 24), cidr(192, 42, 116, 0, 24)];

/// Amazon blocks used when a region has no table of its own.
const AWS_ANY: &[Cidr] = &[cidr(3, 0, 0, 0, 9), cidr(52, 0, 0, 0, 10), cidr(54, 64, 0, 0, 11), cidr(18, 188, 0, 0, 14)];

/// Residential and business broadband providers, one list per country the
/// estate's people work from.
pub(crate) const ISP_US: &[Cidr] = &[cidr(73, 0, 0, 0, 8), cidr(98, 192, 0, 0, 10), cidr(71, 192, 0, 0, 12)];
pub(crate) const ISP_UK: &[Cidr] = &[cidr(86, 128, 0, 0, 10)];
pub(crate) const ISP_DE: &[Cidr] = &[cidr(79, 192, 0, 0, 10), cidr(91, 0, 0, 0, 10)];
pub(crate) const ISP_FR: &[Cidr] = &[cidr(90, 0, 0, 0, 9)];

/// The private range EC2 instances talk from when they reach AWS through a
/// VPC endpoint (CloudTrail then records the private address).
pub(crate) const VPC: &[Cidr] = &[cidr(10, 0, 0, 0, 16)];

/// The range of an account's default VPC: where an attacker's own instances
/// call from, through their own VPC endpoint.
pub(crate) const DEFAULT_VPC: &[Cidr] = &[cidr(172, 31, 0, 0, 16)];

/// Amazon's public blocks for `region`, so that addresses of instances and
/// Lambda functions geolocate to where the workload runs.
pub(crate) fn aws(region: &str) -> &'static [Cidr] {
    const US_EAST_1: &[Cidr] = &[cidr(3, 208, 0, 0, 12), cidr(44, 192, 0, 0, 11), cidr(54, 144, 0, 0, 14)];
    const US_EAST_2: &[Cidr] = &[cidr(18, 188, 0, 0, 14), cidr(3, 128, 0, 0, 12)];
    const US_WEST_2: &[Cidr] = &[cidr(35, 80, 0, 0, 12), cidr(44, 224, 0, 0, 11), cidr(54, 184, 0, 0, 13)];
    const EU_WEST_1: &[Cidr] = &[cidr(34, 240, 0, 0, 13), cidr(52, 208, 0, 0, 13), cidr(3, 248, 0, 0, 13)];
    match region {
        "us-east-1" => US_EAST_1,
        "us-east-2" => US_EAST_2,
        "us-west-2" => US_WEST_2,
        "eu-west-1" => EU_WEST_1,
        _ => AWS_ANY,
    }
}

/// A host address (never the network or broadcast address) from a block
/// chosen uniformly in `pool`.
pub(crate) fn sample(rng: &mut SmallRng, pool: &[Cidr]) -> String {
    let block = pool[rng.random_range(0..pool.len())];
    let size = 1u32 << (32 - block.bits);
    let host = rng.random_range(1..size - 1);
    Ipv4Addr::from(block.base + host).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn contains(pool: &[Cidr], ip: &str) -> bool {
        let ip = u32::from(ip.parse::<Ipv4Addr>().unwrap());
        pool.iter().any(|c| ip >> (32 - c.bits) == c.base >> (32 - c.bits))
    }

    #[test]
    fn samples_stay_inside_their_pool() {
        let mut rng = SmallRng::seed_from_u64(3);
        for pool in
            [AZURE, GCP, ISP_US, VPC, aws("eu-west-1"), aws("ap-south-1"), M247, DATACAMP, TOR_EXITS, DEFAULT_VPC]
        {
            for _ in 0..200 {
                let ip = sample(&mut rng, pool);
                assert!(contains(pool, &ip), "{ip}");
            }
        }
    }
}
