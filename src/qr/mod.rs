//! Vehicle QR codes: the compact signed payload, rendering and scanning.
