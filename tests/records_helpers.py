"""Reading a data folder back in tests, independently of validate_records.py."""
import json
import os

import numpy as np
import tensorflow as tf


def read_records(data_dir, key="shards"):
    """[(shard file, source id, origin, uint8 image)] in on-disk order, of the shards listed
    under `key` in the manifest ("shards": training, "holdout_shards": held out)."""
    with open(os.path.join(data_dir, "manifest.json")) as f:
        manifest = json.load(f)
    out = []
    for shard in manifest.get(key, []):
        path = os.path.join(data_dir, shard["file"])
        for raw in tf.data.TFRecordDataset(path, compression_type="GZIP"):
            feature = tf.train.Example.FromString(raw.numpy()).features.feature
            h = feature["height"].int64_list.value[0]
            w = feature["width"].int64_list.value[0]
            image = np.frombuffer(feature["image"].bytes_list.value[0], np.uint8).reshape(h, w, 3)
            out.append((shard["file"], feature["source"].int64_list.value[0],
                        feature["origin"].bytes_list.value[0].decode(), image))
    return manifest, out
