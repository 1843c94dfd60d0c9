"""Review by exception: per batch, every exception the five systems and the twin hold
(`exceptions`), the release readiness verdict (`readiness`), and the dossier a reviewer reads
(`dossier`, `dossier_pdf`) with its tamper check (`verify`). docs/gmp.md says what they
support and what stays QA's decision."""
