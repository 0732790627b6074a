-- The window finds a vehicle by its plate alone, whatever its type.
CREATE INDEX vehicles_by_plate_number ON vehicles(plate_number);
