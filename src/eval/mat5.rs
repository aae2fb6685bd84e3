//! A reader for the numeric matrices of MATLAB level-5 MAT-files (what `save` writes by default
//! up to v7.3), enough to load the paper's published ROC curves: real double or integer arrays,
//! compressed (`miCOMPRESSED`, zlib) or not, little-endian.

use flate2::read::ZlibDecoder;
use std::collections::BTreeMap;
use std::io::Read;

const MI_INT8: u32 = 1;
const MI_UINT8: u32 = 2;
const MI_INT16: u32 = 3;
const MI_UINT16: u32 = 4;
const MI_INT32: u32 = 5;
const MI_UINT32: u32 = 6;
const MI_SINGLE: u32 = 7;
const MI_DOUBLE: u32 = 9;
const MI_INT64: u32 = 12;
const MI_UINT64: u32 = 13;
const MI_MATRIX: u32 = 14;
const MI_COMPRESSED: u32 = 15;

/// A numeric matrix: its dimensions and its values in MATLAB's column-major order.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    /// Dimensions.
    pub dims: Vec<usize>,
    /// Real values, column-major.
    pub values: Vec<f64>,
}

/// One data element: its type and payload.
struct Element<'a> {
    kind: u32,
    data: &'a [u8],
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Splits a buffer into data elements (handling the small-element format and 8-byte padding).
fn elements(b: &[u8]) -> Result<Vec<Element<'_>>, String> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 8 <= b.len() {
        let tag = u32_at(b, at).ok_or("truncated tag")?;
        if tag >> 16 != 0 {
            // Small element: type in the low half, size in the high half, data in 4 bytes.
            let kind = tag & 0xffff;
            let size = (tag >> 16) as usize;
            let data = b
                .get(at + 4..at + 4 + size)
                .ok_or("truncated small element")?;
            out.push(Element { kind, data });
            at += 8;
            continue;
        }
        let size = u32_at(b, at + 4).ok_or("truncated tag")? as usize;
        let data = b.get(at + 8..at + 8 + size).ok_or("truncated element")?;
        out.push(Element { kind: tag, data });
        let padded = if tag == MI_COMPRESSED {
            size
        } else {
            size.div_ceil(8) * 8
        };
        at += 8 + padded;
    }
    Ok(out)
}

fn numbers(e: &Element<'_>) -> Result<Vec<f64>, String> {
    let d = e.data;
    let v: Vec<f64> = match e.kind {
        MI_DOUBLE => d
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
            .collect(),
        MI_SINGLE => d
            .chunks_exact(4)
            .map(|c| f64::from(f32::from_le_bytes(c.try_into().unwrap_or([0; 4]))))
            .collect(),
        MI_INT8 => d.iter().map(|&x| f64::from(x as i8)).collect(),
        MI_UINT8 => d.iter().map(|&x| f64::from(x)).collect(),
        MI_INT16 => d
            .chunks_exact(2)
            .map(|c| f64::from(i16::from_le_bytes([c[0], c[1]])))
            .collect(),
        MI_UINT16 => d
            .chunks_exact(2)
            .map(|c| f64::from(u16::from_le_bytes([c[0], c[1]])))
            .collect(),
        MI_INT32 => d
            .chunks_exact(4)
            .map(|c| f64::from(i32::from_le_bytes(c.try_into().unwrap_or([0; 4]))))
            .collect(),
        MI_UINT32 => d
            .chunks_exact(4)
            .map(|c| f64::from(u32::from_le_bytes(c.try_into().unwrap_or([0; 4]))))
            .collect(),
        MI_INT64 => d
            .chunks_exact(8)
            .map(|c| i64::from_le_bytes(c.try_into().unwrap_or([0; 8])) as f64)
            .collect(),
        MI_UINT64 => d
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8])) as f64)
            .collect(),
        k => return Err(format!("numeric data of type {k} is not supported")),
    };
    Ok(v)
}

/// Parses one miMATRIX payload into (name, matrix); None for non-numeric classes (cells,
/// structs, chars), which are skipped.
fn matrix(payload: &[u8]) -> Result<Option<(String, Matrix)>, String> {
    let parts = elements(payload)?;
    let [flags, dims, name, real, ..] = parts.as_slice() else {
        return Err("matrix with too few parts".into());
    };
    let class = flags.data.first().copied().unwrap_or(0);
    // 6 = double … 15 = uint64: the numeric classes.
    if !(6..=15).contains(&class) {
        return Ok(None);
    }
    let dims: Vec<usize> = numbers(dims)?.iter().map(|&d| d as usize).collect();
    let name = String::from_utf8_lossy(name.data).into_owned();
    let values = numbers(real)?;
    let expected: usize = dims.iter().product();
    if values.len() != expected {
        return Err(format!(
            "{name}: {} values for dimensions {dims:?}",
            values.len()
        ));
    }
    Ok(Some((name, Matrix { dims, values })))
}

/// Reads every numeric matrix of a MAT-file, by variable name.
pub fn read_mat5(bytes: &[u8]) -> Result<BTreeMap<String, Matrix>, String> {
    if bytes.len() < 128 || !bytes.starts_with(b"MATLAB 5.0 MAT-file") {
        return Err("not a MATLAB 5.0 MAT-file".into());
    }
    if &bytes[126..128] != b"IM" {
        return Err("big-endian MAT-files are not supported".into());
    }
    let mut out = BTreeMap::new();
    for e in elements(&bytes[128..])? {
        let inflated;
        let (kind, data) = if e.kind == MI_COMPRESSED {
            let mut buf = Vec::new();
            ZlibDecoder::new(e.data)
                .read_to_end(&mut buf)
                .map_err(|err| format!("compressed element: {err}"))?;
            inflated = buf;
            let inner = elements(&inflated)?;
            let Some(first) = inner.into_iter().next() else {
                continue;
            };
            (first.kind, first.data)
        } else {
            (e.kind, e.data)
        };
        if kind == MI_MATRIX
            && let Some((name, m)) = matrix(data)?
        {
            out.insert(name, m);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hand-built uncompressed MAT-file with `X = [0 0.5 1]` (double) and `Y = [0 1 1]`
    /// (stored as uint8, as MATLAB does for integer-valued doubles).
    fn sample() -> Vec<u8> {
        let mut f = b"MATLAB 5.0 MAT-file, test".to_vec();
        f.resize(124, b' ');
        f.extend_from_slice(&[0x00, 0x01, b'I', b'M']);
        let var = |name: &str, kind: u32, data: &[u8]| {
            let mut m = Vec::new();
            let el = |m: &mut Vec<u8>, t: u32, d: &[u8]| {
                m.extend_from_slice(&t.to_le_bytes());
                m.extend_from_slice(&(d.len() as u32).to_le_bytes());
                m.extend_from_slice(d);
                while !m.len().is_multiple_of(8) {
                    m.push(0);
                }
            };
            el(&mut m, MI_UINT32, &[6, 0, 0, 0, 0, 0, 0, 0]);
            el(&mut m, MI_INT32, &[1, 0, 0, 0, 3, 0, 0, 0]);
            el(&mut m, MI_INT8, name.as_bytes());
            el(&mut m, kind, data);
            let mut out = MI_MATRIX.to_le_bytes().to_vec();
            out.extend_from_slice(&(m.len() as u32).to_le_bytes());
            out.extend_from_slice(&m);
            out
        };
        let x: Vec<u8> = [0.0f64, 0.5, 1.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        f.extend(var("X", MI_DOUBLE, &x));
        f.extend(var("Y", MI_UINT8, &[0, 1, 1]));
        f
    }

    #[test]
    fn reads_double_and_integer_stored_matrices() {
        let m = read_mat5(&sample()).unwrap();
        assert_eq!(m["X"].values, vec![0.0, 0.5, 1.0]);
        assert_eq!(m["Y"].values, vec![0.0, 1.0, 1.0]);
        assert_eq!(m["X"].dims, vec![1, 3]);
        assert!(read_mat5(b"not a mat file").is_err());
    }
}
