"""Results on disk: folders and what --force may touch (folders), one writer per folder and
validated reading back (files, schema), plots written beside them (plot), and a report over
many folders (reports). May import spec, models and measure."""
