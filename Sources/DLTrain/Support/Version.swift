/// dltrain's version, printed by `dltrain --version` and recorded in run outputs.
public let dltrainVersion = "0.1.0"
