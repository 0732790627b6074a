//! How the shared statements' arguments and columns cross to and from the driver's types.

use crate::store::rows::Columns;
use crate::store::sql::Arg;
use crate::store::StoreResult;
use ::postgres::types::{to_sql_checked, IsNull, ToSql, Type};
use ::postgres::Row;
use bytes::BytesMut;

type BoxError = Box<dyn std::error::Error + Sync + Send>;

impl ToSql for Arg<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        // The inner values check their own types: an argument of the wrong kind is the driver's error.
        match *self {
            // Points and counts are INTEGER; nothing the flows store comes near its limits.
            Arg::Int(v) if *ty == Type::INT4 => v
                .map(|v| i32::try_from(v).unwrap_or(if v < 0 { i32::MIN } else { i32::MAX }))
                .to_sql_checked(ty, out),
            Arg::Int(v) => v.to_sql_checked(ty, out),
            Arg::Text(v) => v.to_sql_checked(ty, out),
            Arg::Bytes(v) => v.to_sql_checked(ty, out),
            Arg::Flag(v) => v.to_sql_checked(ty, out),
        }
    }
    fn accepts(_: &Type) -> bool {
        true
    }
    to_sql_checked!();
}

impl Columns for Row {
    fn int(&self, i: usize) -> StoreResult<i64> {
        if is_int4(self, i) {
            Ok(i64::from(self.try_get::<_, i32>(i)?))
        } else {
            Ok(self.try_get(i)?)
        }
    }
    fn text(&self, i: usize) -> StoreResult<String> {
        Ok(self.try_get(i)?)
    }
    fn flag(&self, i: usize) -> StoreResult<bool> {
        Ok(self.try_get(i)?)
    }
    fn opt_int(&self, i: usize) -> StoreResult<Option<i64>> {
        if is_int4(self, i) {
            Ok(self.try_get::<_, Option<i32>>(i)?.map(i64::from))
        } else {
            Ok(self.try_get(i)?)
        }
    }
    fn opt_text(&self, i: usize) -> StoreResult<Option<String>> {
        Ok(self.try_get(i)?)
    }
    fn bytes(&self, i: usize) -> StoreResult<Vec<u8>> {
        Ok(self.try_get(i)?)
    }
    fn opt_bytes(&self, i: usize) -> StoreResult<Option<Vec<u8>>> {
        Ok(self.try_get(i)?)
    }
}

/// Whether column `i` is an INTEGER (points, counts), which the driver reads only as i32.
fn is_int4(r: &Row, i: usize) -> bool {
    r.columns().get(i).is_some_and(|c| *c.type_() == Type::INT4)
}
