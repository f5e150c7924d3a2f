"""The release end of the pipeline: gate → bundle → tarball, then verify and diff.

- `gate`: does the run's evidence allow a release (every baseline cell passed, or failed or skipped as the
  policy expects)?
- `bundle`: cut the versioned folder and its byte-reproducible tarball, signed.
- `sbom`, `wheelhouse`, `changes`: the parts of a bundle that need more than copying.
- `files`: checksums, the reproducible tarball, safe extraction.
- `verify`, `diff`: check a bundle offline; compare two bundles or runs.
"""
