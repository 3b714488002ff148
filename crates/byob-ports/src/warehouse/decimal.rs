//! The shape of a decimal column's data: how many digits before and after the point its widest values have,
//! so a platform whose decimals have one scale per column (MySQL, Snowflake) keeps every value as written.

/// The widest decimal seen in a column: digits before and after the point.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct DecimalShape {
    pub integer: u32,
    pub scale: u32,
}

/// The widest decimal of the platforms whose decimals have one precision per column (Redshift, Databricks).
pub(super) const MAX_PRECISION: u32 = 38;

impl DecimalShape {
    /// Each column's shape from a query that gave two numbers per decimal column, in order (digits before and
    /// after the point); other columns get the empty shape.
    pub(super) fn per_column(columns: &[byob_core::table::Column], number: impl Fn(usize) -> u32) -> Vec<DecimalShape> {
        let mut k = 0;
        columns
            .iter()
            .map(|c| {
                if c.column_type != byob_core::table::ColumnType::Decimal {
                    return DecimalShape::default();
                }
                let shape = DecimalShape { integer: number(2 * k), scale: number(2 * k + 1) };
                k += 1;
                shape
            })
            .collect()
    }

    /// The `DECIMAL(p,s)` that holds every value of this shape as written, or why `platform` cannot.
    pub(super) fn sql_type(self, platform: &str, column: &str) -> Result<String, super::WarehouseError> {
        let precision = (self.integer + self.scale).max(1);
        if precision > MAX_PRECISION {
            return Err(super::WarehouseError::Rejected(format!(
                "column `{column}` has values with {} digits before and {} after the point; {platform}'s decimals \
                 hold {MAX_PRECISION} digits in all: load it as text",
                self.integer, self.scale
            )));
        }
        Ok(format!("DECIMAL({precision},{})", self.scale))
    }

    /// Widens the shape to hold `text`, a decimal in canonical form (`-12.50`).
    pub(super) fn fit(&mut self, text: &str) {
        let digits = text.trim_start_matches(['-', '+']);
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        let whole = whole.trim_start_matches('0');
        self.integer = self.integer.max(u32::try_from(whole.len()).unwrap_or(u32::MAX));
        self.scale = self.scale.max(u32::try_from(fraction.len()).unwrap_or(u32::MAX));
    }

    /// Whether a value of this shape fits `precision` and `scale` without rounding.
    pub(super) fn fits(self, precision: u32, scale: u32) -> bool {
        self.scale <= scale && self.integer + scale <= precision
    }
}

/// `value / 10^scale` as decimal text in canonical form (`-1234`, 2 → `-12.34`; no point for scale 0).
pub(super) fn scaled(value: i128, scale: u32) -> String {
    let digits = value.unsigned_abs().to_string();
    let scale = scale as usize;
    let sign = if value < 0 { "-" } else { "" };
    if scale == 0 {
        return format!("{sign}{digits}");
    }
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (whole, fraction) = padded.split_at(padded.len() - scale);
    format!("{sign}{whole}.{fraction}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_shapes_hold_every_value_as_written() {
        let mut shape = DecimalShape::default();
        for v in ["12.50", "-99999999999999999999.123456789012345678", "0.000000000000000001", "0"] {
            shape.fit(v);
        }
        assert_eq!(shape, DecimalShape { integer: 20, scale: 18 });
        assert!(shape.fits(38, 18) && !shape.fits(38, 17) && !shape.fits(37, 18));
        let mut whole = DecimalShape::default();
        whole.fit("-42");
        assert_eq!(whole, DecimalShape { integer: 2, scale: 0 });
    }
}
