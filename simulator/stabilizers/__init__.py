"""The paper's domain: shapes (figures), their stabilizers, tube volumes and hitting laws."""
