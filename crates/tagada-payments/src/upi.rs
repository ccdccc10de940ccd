//! UPI payment links (`upi://pay?...`) as NPCI's linking specification
//! describes them, and QR codes of them as PNG images.
//!
//! A link names the payee (`pa` = VPA, `pn` = name, optionally `mc` =
//! merchant category code), the amount in rupees with two decimals (`am`),
//! the currency (`cu`, always `INR`: UPI moves rupees only), the
//! transaction reference (`tr`: the invoice number, so the credit can be
//! matched) and a note shown to the payer (`tn`). Values are
//! percent-encoded (RFC 3986 unreserved characters kept, a space is `%20`).

use qrcode::{Color, EcLevel, QrCode};
use tagada_core::{Currency, Money};

/// Longest `tr` (transaction reference) kept: NPCI allows 35 characters.
pub const MAX_REFERENCE: usize = 35;
/// Longest `tn` (note): UPI apps show at most 50 characters.
pub const MAX_NOTE: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpiError {
    #[error("`{0}` is not a UPI address (VPA): expected name@handle")]
    BadVpa(String),
    #[error("UPI moves rupees only; {0} cannot be paid by UPI")]
    NotInr(Currency),
    #[error("a UPI payment needs a positive amount")]
    NotPositive,
    #[error("the payee name is empty")]
    NoPayeeName,
    #[error("merchant category code `{0}` is not four digits")]
    BadMerchantCode(String),
    #[error("cannot draw the QR code: {0}")]
    Qr(String),
}

/// Who receives the money.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpiPayee {
    vpa: String,
    name: String,
    merchant_code: Option<String>,
}

impl UpiPayee {
    /// Checks the VPA (`name@handle`: letters, digits, `.`, `-`, `_` before
    /// the `@`, letters and digits after) and the name.
    pub fn new(vpa: &str, name: &str, merchant_code: Option<&str>) -> Result<UpiPayee, UpiError> {
        let vpa = vpa.trim();
        let ok = match vpa.split_once('@') {
            Some((user, handle)) => {
                !user.is_empty()
                    && user.len() <= 255
                    && user
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
                    && !handle.is_empty()
                    && handle.chars().all(|c| c.is_ascii_alphanumeric())
            }
            None => false,
        };
        if !ok {
            return Err(UpiError::BadVpa(vpa.to_string()));
        }
        let name = name.trim();
        if name.is_empty() {
            return Err(UpiError::NoPayeeName);
        }
        let merchant_code = match merchant_code.map(str::trim).filter(|m| !m.is_empty()) {
            Some(m) if m.len() == 4 && m.chars().all(|c| c.is_ascii_digit()) => Some(m.to_string()),
            Some(m) => return Err(UpiError::BadMerchantCode(m.to_string())),
            None => None,
        };
        Ok(UpiPayee {
            vpa: vpa.to_string(),
            name: name.to_string(),
            merchant_code,
        })
    }

    pub fn vpa(&self) -> &str {
        &self.vpa
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

/// The `upi://pay` link asking for `amount` against `invoice_number`.
pub fn upi_link(payee: &UpiPayee, amount: Money, invoice_number: &str) -> Result<String, UpiError> {
    if amount.currency() != Currency::INR {
        return Err(UpiError::NotInr(amount.currency()));
    }
    if !amount.is_positive() {
        return Err(UpiError::NotPositive);
    }
    let reference: String = invoice_number.trim().chars().take(MAX_REFERENCE).collect();
    let note: String = format!("Invoice {}", invoice_number.trim())
        .chars()
        .take(MAX_NOTE)
        .collect();
    let mut out = String::from("upi://pay?pa=");
    encode_into(&mut out, &payee.vpa);
    out.push_str("&pn=");
    encode_into(&mut out, &payee.name);
    if let Some(mc) = &payee.merchant_code {
        out.push_str("&mc=");
        out.push_str(mc);
    }
    out.push_str("&tr=");
    encode_into(&mut out, &reference);
    out.push_str("&tn=");
    encode_into(&mut out, &note);
    out.push_str("&am=");
    out.push_str(&rupees(amount));
    out.push_str("&cu=INR");
    Ok(out)
}

/// `123456.50` for ₹1,23,456.50: rupees and two decimals, no grouping.
fn rupees(amount: Money) -> String {
    let minor = amount.minor();
    format!("{}.{:02}", minor / 100, minor % 100)
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn encode_into(out: &mut String, value: &str) {
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else if b == b'@' {
            // `@` separates a VPA's parts; UPI apps expect it as is.
            out.push('@');
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

/// A QR code of `data` as a PNG: black modules on white, `scale` pixels a
/// module, the 4-module quiet zone the standard asks for, error correction
/// level M (a crease or a thumb over a printed code still scans).
pub fn qr_png(data: &str, scale: u32) -> Result<Vec<u8>, UpiError> {
    const QUIET: u32 = 4;
    let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M)
        .map_err(|e| UpiError::Qr(e.to_string()))?;
    let modules = code.width() as u32;
    let colors = code.to_colors();
    let scale = scale.clamp(1, 32);
    let side = (modules + 2 * QUIET) * scale;
    let mut pixels = vec![255u8; (side * side) as usize];
    for (i, color) in colors.iter().enumerate() {
        if *color != Color::Dark {
            continue;
        }
        let (mx, my) = (i as u32 % modules, i as u32 / modules);
        for dy in 0..scale {
            let row = (my + QUIET) * scale + dy;
            let start = (row * side + (mx + QUIET) * scale) as usize;
            pixels[start..start + scale as usize].fill(0);
        }
    }
    let mut png_bytes = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut png_bytes, side, side);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder
            .write_header()
            .map_err(|e| UpiError::Qr(e.to_string()))?;
        writer
            .write_image_data(&pixels)
            .map_err(|e| UpiError::Qr(e.to_string()))?;
    }
    Ok(png_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inr(minor: i64) -> Money {
        Money::from_minor(minor, Currency::INR)
    }

    fn payee() -> UpiPayee {
        UpiPayee::new("example.exports@okhdfc", "Example Exports Pvt Ltd", None).unwrap()
    }

    #[test]
    fn link_carries_every_field_encoded() {
        let link = upi_link(&payee(), inr(1_18_000_00), "INV/26-27/042").unwrap();
        assert_eq!(
            link,
            "upi://pay?pa=example.exports@okhdfc&pn=Example%20Exports%20Pvt%20Ltd\
             &tr=INV%2F26-27%2F042&tn=Invoice%20INV%2F26-27%2F042&am=118000.00&cu=INR"
        );
    }

    #[test]
    fn paise_and_merchant_code() {
        let p = UpiPayee::new("shop@icici", "Shop", Some("5047")).unwrap();
        let link = upi_link(&p, inr(1_05), "A1").unwrap();
        assert!(link.contains("&mc=5047&"), "{link}");
        assert!(link.contains("&am=1.05&"), "{link}");
    }

    #[test]
    fn long_references_and_notes_are_cut() {
        let number = "X".repeat(60);
        let link = upi_link(&payee(), inr(100), &number).unwrap();
        assert!(link.contains(&format!("&tr={}&", "X".repeat(MAX_REFERENCE))));
        assert!(link.contains(&format!("&tn=Invoice%20{}&", "X".repeat(MAX_NOTE - 8))));
    }

    #[test]
    fn refusals() {
        for bad in [
            "",
            "no-at-sign",
            "@handle",
            "user@",
            "us er@okhdfc",
            "user@ok.hdfc",
        ] {
            assert!(
                matches!(UpiPayee::new(bad, "N", None), Err(UpiError::BadVpa(_))),
                "{bad}"
            );
        }
        assert_eq!(UpiPayee::new("a@b", " ", None), Err(UpiError::NoPayeeName));
        assert!(matches!(
            UpiPayee::new("a@b", "N", Some("50")),
            Err(UpiError::BadMerchantCode(_))
        ));
        assert_eq!(
            upi_link(&payee(), Money::from_minor(100, Currency::USD), "A"),
            Err(UpiError::NotInr(Currency::USD))
        );
        assert_eq!(upi_link(&payee(), inr(0), "A"), Err(UpiError::NotPositive));
    }

    #[test]
    fn qr_png_is_a_square_png_with_a_quiet_zone() {
        let link = upi_link(&payee(), inr(1_18_000_00), "INV-42").unwrap();
        let png_bytes = qr_png(&link, 4).unwrap();
        assert_eq!(&png_bytes[..8], b"\x89PNG\r\n\x1a\n");
        let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!(info.width, info.height);
        assert_eq!(info.width % 4, 0);
        // the corners are white (quiet zone), the finder pattern just inside is black
        assert_eq!(buf[0], 255);
        let w = info.width as usize;
        assert_eq!(buf[16 * w + 16], 0);
        // and a QR reader gets the link back
        let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, w, |x, y| buf[y * w + x]);
        let grids = img.detect_grids();
        assert_eq!(grids.len(), 1);
        let (_, content) = grids[0].decode().unwrap();
        assert_eq!(content, link);
    }
}
