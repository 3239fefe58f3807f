"""The exported graphs: ONNX (the dynamo export, the hand-written fast graph, CRF decoding
nodes), TorchScript, and the ONNX storage rewrites (int8, fp16, compact).

    export_onnx(model, "model.onnx", metadata)          # graphs.onnx_export
    quantize_int8("model.onnx", "model.int8.onnx")      # graphs.storage
"""
