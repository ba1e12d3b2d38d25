import type { FolderFormat } from '@distillery/core';

/** A Hugging Face BERT folder, as saveBertToHf writes it. */
export const BERT_HF_FOLDER: FolderFormat = { id: 'hf', description: 'Hugging Face BERT folder (config.json + model.safetensors)' };

/** A BiLSTM folder, as BiLstmClassifier.save writes it. */
export const BILSTM_FOLDER: FolderFormat = { id: 'bilstm', description: 'distillery BiLSTM folder (config.json + model.safetensors)' };

/** A TensorFlow.js folder of this package's models (BERT's 'distillery-bert', the BiLSTM's 'distillery/bilstm'). */
export const TFJS_FOLDER: FolderFormat = { id: 'tfjs', description: 'TensorFlow.js folder (model.json + weight shards + config.json)' };

/** model.json's `format` of a BiLSTM exported for TensorFlow.js. */
export const BILSTM_TFJS_FORMAT = 'distillery/bilstm';
