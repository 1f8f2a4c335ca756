// GPT-2's JavaScript encoder (Encoder.js of the npm package gpt-3-encoder, a
// port of openai/gpt-2's encoder.py) as a filter for the tokenizer's property
// test (property_tests/tokenizer_test.cpp):
//
//   node gpt2_encoder.js PACKAGE_DIR
//
// reads one JSON string per line on stdin and writes the ids of each as one
// JSON array per line on stdout, in order, until stdin closes. One process
// serves a whole test run, so no string pays for node's start and for
// loading the vocabulary. An exception of the encoder is written as
// {"error": "..."} on the line of its string.
'use strict';
const path = require('path');
const readline = require('readline');

const encoder = require(path.join(process.argv[2], 'Encoder.js'));
const lines = readline.createInterface({input: process.stdin, crlfDelay: Infinity});
lines.on('line', (line) => {
  let answer;
  try {
    answer = encoder.encode(JSON.parse(line));
  } catch (e) {
    answer = {error: String(e)};
  }
  process.stdout.write(JSON.stringify(answer) + '\n');
});
