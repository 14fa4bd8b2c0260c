"""Certificates and training: issuing, verifying, revoking, reissuing, PDFs, programmes."""
